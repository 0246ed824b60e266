package config

import (
	"fmt"
	"slices"
	"strings"
)

// closest returns the known word nearest to word, or "" when none is near
// enough to be a likely typo.
func closest(word string, known []string) string {
	best, bestD := "", 0
	w := strings.ToLower(word)
	for _, k := range known {
		d := distance(w, strings.ToLower(k))
		n := len([]rune(k))
		if d <= max(1, min(3, n/3)) && d < n && (best == "" || d < bestD) {
			best, bestD = k, d
		}
	}
	return best
}

// suggest is a hint naming the closest known word, if any, and all of them.
func suggest(word string, known []string) string {
	known = slices.Sorted(slices.Values(known))
	list := strings.Join(known, ", ")
	if len(known) == 0 {
		list = "none"
	}
	if c := closest(word, known); c != "" {
		return fmt.Sprintf("did you mean %q? known: %s", c, list)
	}
	return "known: " + list
}

// distance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of neighbours cost one.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
