package auth

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPasswordHash(t *testing.T) {
	t.Parallel()
	h := HashPassword("correct horse battery staple")
	require.True(t, strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$"))
	ok, err := CheckPassword(h, "correct horse battery staple")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = CheckPassword(h, "Correct horse battery staple")
	require.NoError(t, err)
	require.False(t, ok)
	require.NotEqual(t, h, HashPassword("correct horse battery staple"), "salted")
	_, err = CheckPassword("$2a$10$bcrypt", "x")
	require.Error(t, err)
}

func TestTokens(t *testing.T) {
	t.Parallel()
	tok, hash := NewToken()
	require.True(t, strings.HasPrefix(tok, TokenPrefix))
	require.Equal(t, hash, HashToken(" "+tok+" "))
	require.NotEqual(t, NewSecret(16), NewSecret(16))
}
