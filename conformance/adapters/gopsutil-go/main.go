// gopsutil as a decoder of the contract: process.MemoryMaps(false), per mapping.
//
// The input goes into a temporary proc tree as PID/smaps (with this process's own stat and
// status, which gopsutil reads to know the process), and HOST_PROC points there. gopsutil
// reports each mapping's Path and ten fields in kB, nothing else (covers.json). An error it
// returns is a refusal (exit 1); a panic is a crash (Go exits 2).
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/shirou/gopsutil/process" // GOPATH mode: Debian installs v3 without /v3
)

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(2)
}

func main() {
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail(err)
	}
	root, err := os.MkdirTemp("", "gopsutil-proc-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(root)
	pid := os.Getpid()
	dir := filepath.Join(root, strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fail(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "smaps"), data, 0o644); err != nil {
		fail(err)
	}
	for _, name := range []string{"stat", "status"} {
		own, err := os.ReadFile(filepath.Join("/proc/self", name))
		if err != nil {
			fail(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), own, 0o644); err != nil {
			fail(err)
		}
	}
	os.Setenv("HOST_PROC", root)
	proc, err := process.NewProcess(int32(pid))
	if err != nil {
		fail(err)
	}
	maps, err := proc.MemoryMaps(false)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gopsutil refused the input:", err)
		os.RemoveAll(root)
		os.Exit(1)
	}
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	mappings := []map[string]interface{}{}
	for _, m := range *maps {
		mappings = append(mappings, map[string]interface{}{
			"pathname": m.Path,
			"fields": map[string]string{
				"Size": u(m.Size), "Rss": u(m.Rss), "Pss": u(m.Pss),
				"Shared_Clean": u(m.SharedClean), "Shared_Dirty": u(m.SharedDirty),
				"Private_Clean": u(m.PrivateClean), "Private_Dirty": u(m.PrivateDirty),
				"Referenced": u(m.Referenced), "Anonymous": u(m.Anonymous), "Swap": u(m.Swap),
			},
		})
	}
	out, _ := json.Marshal(map[string]interface{}{"mappings": mappings})
	fmt.Println(string(out))
}
