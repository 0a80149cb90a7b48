package tracking

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrorCode is one of MLflow's error_code strings (databricks_pb2.ErrorCode),
// sent to clients as {"error_code": ..., "message": ...}.
type ErrorCode string

// The codes a Store returns, and the ones a REST layer needs besides.
const (
	InternalError          ErrorCode = "INTERNAL_ERROR"
	BadRequest             ErrorCode = "BAD_REQUEST"
	InvalidParameterValue  ErrorCode = "INVALID_PARAMETER_VALUE"
	InvalidState           ErrorCode = "INVALID_STATE"
	MalformedRequest       ErrorCode = "MALFORMED_REQUEST"
	ResourceAlreadyExists  ErrorCode = "RESOURCE_ALREADY_EXISTS"
	ResourceDoesNotExist   ErrorCode = "RESOURCE_DOES_NOT_EXIST"
	EndpointNotFound       ErrorCode = "ENDPOINT_NOT_FOUND"
	PermissionDenied       ErrorCode = "PERMISSION_DENIED"
	Unauthenticated        ErrorCode = "UNAUTHENTICATED"
	TemporarilyUnavailable ErrorCode = "TEMPORARILY_UNAVAILABLE"
)

// HTTPStatus is the status MLflow's server answers with for the code
// (mlflow/exceptions.py, ERROR_CODE_TO_HTTP_STATUS); 500 for codes it does
// not list.
func (c ErrorCode) HTTPStatus() int {
	switch c {
	case BadRequest, InvalidParameterValue, InvalidState, MalformedRequest, ResourceAlreadyExists:
		return http.StatusBadRequest
	case ResourceDoesNotExist, EndpointNotFound:
		return http.StatusNotFound
	case PermissionDenied:
		return http.StatusForbidden
	case Unauthenticated:
		return http.StatusUnauthorized
	case TemporarilyUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// Error is a failure a client should see with its MLflow error code.
// Errors without one (a lost database connection) are INTERNAL_ERROR.
type Error struct {
	Code    ErrorCode
	Message string
	Err     error // the cause, if any; not shown in Error()
}

func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the MLflow error code of err: the code of the first *Error
// in its chain, INTERNAL_ERROR for any other error, "" for nil.
func CodeOf(err error) ErrorCode {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return InternalError
}

// IsNotFound reports whether err is RESOURCE_DOES_NOT_EXIST.
func IsNotFound(err error) bool { return CodeOf(err) == ResourceDoesNotExist }
