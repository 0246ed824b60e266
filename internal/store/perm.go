package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// The data directory and the store's files hold every record of every
// system: they are the user's alone. Creating them with these modes is
// not enough, since an earlier tandem, a restore from a backup (cp, tar
// under umask 022) or another program may have made them readable by
// others; every open takes group and other permissions off again. SQLite
// creates its WAL and shared-memory files with the store file's mode, so
// those it makes after the store file is private are private too.
const (
	dirMode  = 0o700
	fileMode = 0o600
)

// makeDir creates the data directory (0700) if needed and makes an
// existing one private.
func makeDir(dir string) error {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("create data directory %s: %w", dir, err)
	}
	return makePrivate(dir, nil)
}

// openPrivate opens (creating if needed) the store file at path,
// readable and writable by the user alone.
func openPrivate(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return nil, err
	}
	if err := makePrivate(path, f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// makePrivate takes group and other permissions off the file or
// directory at path (through f, when it is open); a path that does not
// exist is left so. When that fails (the file is another user's) the
// store is refused rather than used with a warning: others could read
// every record, or replace the store's files, and a warning in a log is
// easily missed. The error says what to do.
func makePrivate(path string, f *os.File) error {
	var fi fs.FileInfo
	var err error
	if f != nil {
		fi, err = f.Stat()
	} else {
		fi, err = os.Stat(path)
	}
	if f == nil && errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the mode of %s: %w", path, err)
	}
	perm := fi.Mode().Perm()
	if perm&0o077 == 0 {
		return nil
	}
	if f != nil {
		err = f.Chmod(perm &^ 0o077)
	} else {
		err = os.Chmod(path, perm&^0o077)
	}
	if err != nil {
		what := "store file"
		if fi.IsDir() {
			what = "data directory"
		}
		return fmt.Errorf("%s %s is open to other users (mode %04o) and tandem cannot make it private: %w; "+
			"make it owned by the user tandem runs as and chmod go-rwx it, or point store.dir at a new directory for tandem to create",
			what, path, perm, err)
	}
	return nil
}
