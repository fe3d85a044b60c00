package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// The resync command's arguments are checked before it connects, each
// mistake with a French message.
func TestResyncArguments(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "indiquez soit --all, soit des identifiants"},
		{[]string{"--all", "0193e0a4-0000-7000-8000-000000000000"}, "indiquez soit --all, soit des identifiants"},
		{[]string{"0193e0a4-0000-7000-8000-000000000000", "--all"}, "indiquez soit --all, soit des identifiants"},
		{[]string{"pas-un-id"}, "« pas-un-id » n'est pas un identifiant de parcours"},
		{[]string{"--all", "--concurrence", "0"}, "--concurrence doit être entre 1 et 64"},
		{[]string{"--inconnu"}, "flag provided but not defined"},
	} {
		var out, stderr bytes.Buffer
		m := &Main{Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &stderr}
		err := m.Run(context.Background(), append([]string{"resync"}, c.args...))
		require.Error(t, err, c.args)
		require.Contains(t, err.Error()+stderr.String(), c.want, c.args)
	}
}
