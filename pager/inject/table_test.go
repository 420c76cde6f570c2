package inject_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tamach/tamach/pager/inject"
)

// TestFailureTableIsComplete holds docs/failures.md to the code: every
// kind this package injects, at every call it applies to, has a row, and
// every row names tests that exist (vm.TestX or vm.FuzzX in package vm,
// TestX after a package path in that package, else here); make test runs
// them all.
func TestFailureTableIsComplete(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "failures.md"))
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| ---") || strings.HasPrefix(line, "| failure mode ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 4 {
			t.Fatalf("row with %d cells, want 4: %s", len(cells), line)
		}
		rows = append(rows, cells)
	}
	if len(rows) == 0 {
		t.Fatal("no rows in docs/failures.md")
	}
	injected := func(kind, site string) bool {
		for _, r := range rows {
			if strings.Contains(r[1], "`"+kind+"`") && (site == "" || strings.Contains(r[1], "`"+site+"`")) {
				return true
			}
		}
		return false
	}
	// The kinds by their Go names, in Kind order after Pass.
	kinds := []string{"Error", "Panic", "Delay", "Drop", "Duplicate", "Reorder", "ShortWrite", "Full"}
	if len(kinds) != int(inject.NumKinds)-1 {
		t.Fatalf("%d kinds listed here, the package has %d: name the new one here and in the table", len(kinds), inject.NumKinds-1)
	}
	for _, k := range kinds {
		if !injected(k, "") {
			t.Errorf("no row for the kind %s", k)
		}
	}
	// Error and Panic apply to every kernel-to-pager call the wrappers
	// take (see the package doc), Error to the store's reads and writes.
	calls := []string{"OpInit", "OpCreate", "OpDataRequest", "OpDataUnlock", "OpDataReturn", "OpDataInitialize",
		"OpSynchronize", "OpTerminate", "OpLockCompleted", "OpSupplyCompleted", "OpChangeCompleted"}
	for _, op := range calls {
		for _, k := range []string{"Error", "Panic"} {
			if !injected(k, op) {
				t.Errorf("no row for %s on %s", k, op)
			}
		}
	}
	for _, op := range []string{"OpStoreRead", "OpStoreWrite"} {
		if !injected("Error", op) {
			t.Errorf("no row for Error on %s", op)
		}
	}
	// In the test column, a package path (`board/usdhc`) names the
	// package of the tests after it; vm.TestX is in vm; others are here.
	root := filepath.Join("..", "..")
	funcs := make(map[string]map[string]bool)
	exists := func(pkg, fn string) bool {
		if funcs[pkg] == nil {
			funcs[pkg] = testFuncs(t, filepath.Join(root, pkg))
		}
		return funcs[pkg][fn]
	}
	item := regexp.MustCompile("`([^`]+)`")
	test := regexp.MustCompile(`^(vm\.)?((Test|Fuzz)\w+)(/\w+)?$`) // a subtest after /
	for _, r := range rows {
		pkg, named := "pager/inject", 0
		for _, m := range item.FindAllStringSubmatch(r[3], -1) {
			if fi, err := os.Stat(filepath.Join(root, m[1])); strings.Contains(m[1], "/") && err == nil && fi.IsDir() {
				pkg = m[1]
				continue
			}
			tm := test.FindStringSubmatch(m[1])
			if tm == nil {
				continue
			}
			named++
			in := pkg
			if tm[1] != "" {
				in = "vm"
			}
			if !exists(in, tm[2]) {
				t.Errorf("row %q names %s in %s, which does not exist", r[0], tm[2], in)
			}
		}
		if named == 0 {
			t.Errorf("row %q names no test", r[0])
		}
	}
}

// testFuncs returns the names of the test and fuzz functions in the
// test files of dir.
func testFuncs(t *testing.T, dir string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files in %s: %v", dir, err)
	}
	def := regexp.MustCompile(`(?m)^func ((Test|Fuzz)\w+)\(`)
	names := make(map[string]bool)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range def.FindAllStringSubmatch(string(b), -1) {
			names[m[1]] = true
		}
	}
	return names
}
