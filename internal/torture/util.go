package torture

import "sort"

func sortStrings(s []string) { sort.Strings(s) }
