package supervisor

import (
	"go/build"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const protoactor = "github.com/asynkron/protoactor-go"

// The package is a general OTP supervision library on protoactor-go: it
// imports only the standard library and protoactor, so that it knows nothing
// of Tinker and `go list -deps ./supervisor` shows nothing else.
func TestImportsOnlyStdAndProtoactor(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	require.NoError(t, err)
	for _, imp := range pkg.Imports {
		std := !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".")
		assert.True(t, std || strings.HasPrefix(imp, protoactor+"/"), "supervisor imports %s", imp)
	}
}

func TestDepsAreProtoactorsDeps(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	list := func(pkg string) []string {
		t.Helper()
		out, err := exec.Command(goBin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).Output()
		if err != nil {
			t.Skipf("go list unavailable: %v", err)
		}
		return strings.Fields(string(out))
	}
	ours := list(".")
	theirs := list(protoactor + "/actor")
	require.NotEmpty(t, theirs)
	for _, dep := range ours {
		if dep == "github.com/tinkex-go/tinkex/supervisor" {
			continue
		}
		assert.True(t, slices.Contains(theirs, dep), "%s is not a dependency of protoactor's actor package", dep)
	}
}
