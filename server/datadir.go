package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// checkWritableDir makes sure dir exists and this process can create files
// in it, before anything is written there. The error says what to do: the
// usual cause is a folder (or a container volume) owned by another user —
// the image runs as uid 65532.
func checkWritableDir(dir, what string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	probe := func() error {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		f, err := os.CreateTemp(dir, ".write-test-*")
		if err != nil {
			return err
		}
		name := f.Name()
		_, werr := f.Write([]byte("ok\n"))
		cerr := f.Close()
		rerr := os.Remove(name)
		for _, e := range []error{werr, cerr, rerr} {
			if e != nil {
				return e
			}
		}
		return nil
	}
	if err := probe(); err != nil {
		return fmt.Errorf("%s %s is not writable by this process (uid %d, gid %d): %w\n"+
			"  数据目录不可写 / the %s must be a folder this user can write. Fix one of:\n"+
			"  - give it to this user: chown -R %d:%d %s (the container image runs as 65532:65532, user nonroot);\n"+
			"  - in Docker, mount a named volume (a fresh one takes the image's ownership) rather than a host folder owned by root,\n"+
			"    or run the container with --user matching the host folder's owner;\n"+
			"  - or point LOUYUAN_DATA_DIR (files: LOUYUAN_FILES_DIR) at a writable folder",
			what, abs, os.Geteuid(), os.Getegid(), err, what, os.Geteuid(), os.Getegid(), abs)
	}
	return nil
}
