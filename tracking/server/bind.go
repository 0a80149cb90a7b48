package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/rest"
)

// route is one row of the endpoint table.
type route struct {
	ep      rest.Endpoint
	perm    Permission // what the caller needs
	root    bool       // served at the path itself, not below the API prefixes
	handler http.Handler
}

// call is what a handler gets besides its request message.
type call struct {
	r      *http.Request
	w      http.ResponseWriter
	fields rest.Fields // the request's top-level fields as sent
	body   []byte      // the JSON body (nil for GET)
	user   string      // the authenticated user, "" when anonymous
}

// userOr returns the authenticated user, else claimed: a server without
// authentication takes the client's word, as MLflow does for runs.
func (c *call) userOr(claimed string) string {
	if c.user != "" {
		return c.user
	}
	return claimed
}

// bind makes an http.Handler of a typed RPC handler: it reads the request
// message (query parameters for GET, else the JSON body), checks the
// required fields, calls fn and writes its response or error.
func bind[Req any](s *Server, required []string, fn func(ctx context.Context, c *call, req *Req) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := new(Req)
		c := &call{r: r, w: w, user: identityOf(r.Context()).name}
		var err error
		c.fields, c.body, err = s.readRequest(w, r, req)
		if err == nil {
			err = checkRequired(c.fields, required)
		}
		var resp any
		if err == nil {
			resp, err = fn(r.Context(), c, req)
		}
		if err != nil {
			writeError(w, err)
			return
		}
		if resp != nil {
			writeJSON(w, resp)
		}
	})
}

// readRequest decodes the request message.
func (s *Server) readRequest(w http.ResponseWriter, r *http.Request, msg any) (rest.Fields, []byte, error) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		fields, err := rest.DecodeQuery(r.URL.Query(), msg)
		return fields, nil, badField(err)
	}
	if err := checkContentType(r); err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, nil, tracking.Errorf(tracking.InvalidParameterValue,
				"Request body is larger than the limit of %d bytes", tooBig.Limit)
		}
		return nil, nil, tracking.Errorf(tracking.BadRequest, "read request body: %v", err)
	}
	// MLflow's DELETE handlers read a JSON body; some clients send
	// query parameters instead, which are taken when the body is empty.
	if r.Method == http.MethodDelete && len(body) == 0 && r.URL.RawQuery != "" {
		fields, err := rest.DecodeQuery(r.URL.Query(), msg)
		return fields, nil, badField(err)
	}
	fields, err := rest.Decode(body, msg)
	return fields, body, badField(err)
}

// checkContentType requires JSON bodies to say so, as MLflow's
// _validate_content_type does for POST and PUT: a browser form cannot send
// application/json across origins without a CORS preflight, so this keeps
// other sites from posting to the API.
func checkContentType(r *http.Request) error {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return tracking.Errorf(tracking.InvalidParameterValue, "Bad Request. Content-Type header is missing.")
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return tracking.Errorf(tracking.InvalidParameterValue, "Bad Request. Content-Type must be one of ['application/json'], got %q.", ct)
	}
	return nil
}

func badField(err error) error {
	if err == nil {
		return nil
	}
	return &tracking.Error{Code: tracking.InvalidParameterValue,
		Message: err.Error() + " See the API docs for more information about request parameters.", Err: err}
}

// checkRequired reports the first required field that is missing, as
// MLflow's _assert_required does; run_uuid stands in for run_id.
func checkRequired(fields rest.Fields, required []string) error {
	for _, name := range required {
		if fields.Present(name) || (name == "run_id" && fields.Present("run_uuid")) {
			continue
		}
		return tracking.Errorf(tracking.InvalidParameterValue,
			"Missing value for required parameter '%s'. See the API docs for more information about request parameters.", name)
	}
	return nil
}

// checkElements checks required fields of the objects of a list field
// (log-batch's metrics[i].key...).
func checkElements(fields rest.Fields, list string, required ...string) error {
	raw, ok := fields[list]
	if !ok {
		return nil
	}
	var elems []rest.Fields
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil // not a list of objects: decoding the message reported it
	}
	for i, e := range elems {
		for _, name := range required {
			if !e.Present(name) {
				return tracking.Errorf(tracking.InvalidParameterValue,
					"Missing value for required parameter '%s[%d].%s'. See the API docs for more information about request parameters.", list, i, name)
			}
		}
	}
	return nil
}
