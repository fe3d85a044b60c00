package domain

import (
	"errors"
	"fmt"
)

// Error codes, mapped once to HTTP statuses in internal/httpx.
const (
	EINVALID      = "invalid"      // a value is malformed or breaks a rule
	ENOTFOUND     = "not_found"    // no such record, or not visible to the caller
	ECONFLICT     = "conflict"     // the state does not accept this command
	EUNAUTHORIZED = "unauthorized" // no or unknown credentials
	EFORBIDDEN    = "forbidden"    // the role may not do this
	EUNAVAILABLE  = "unavailable"  // a dependency does not answer
	ETOOMANY      = "too_many"     // too many attempts: try again later
	EINTERNAL     = "internal"     // a bug or an unexpected failure
)

// Error is an error users may read: Message is French and safe to show.
// Field names the input at fault, when there is one.
type Error struct {
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf builds an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError is an EINVALID error on one input field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Message: fmt.Sprintf(format, args...), Field: field}
}

// ErrorCode is the code of the first *Error in err's chain, EINTERNAL for any
// other error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage is the user-facing message of err; internal errors get a
// generic message so that nothing internal leaks.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Erreur interne : l'incident est enregistré dans le journal du service."
}

// ErrorField is the field of the first *Error in err's chain, if any.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
