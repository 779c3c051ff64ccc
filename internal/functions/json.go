package functions

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// jsonField is {value, multiValue, attributes} in an event's JSON.
type jsonField struct {
	Value      string `json:"value"`
	Attributes string `json:"attributes"`
	MultiValue []struct {
		Value      string `json:"value"`
		Attributes string `json:"attributes"`
	} `json:"multiValue"`
}

type jsonEvent struct {
	Context struct {
		DistributionDomainName string `json:"distributionDomainName"`
		DistributionID         string `json:"distributionId"`
		EventType              string `json:"eventType"`
		RequestID              string `json:"requestId"`
	} `json:"context"`
	Viewer struct {
		IP string `json:"ip"`
	} `json:"viewer"`
	Request *struct {
		Method      string               `json:"method"`
		URI         string               `json:"uri"`
		Querystring map[string]jsonField `json:"querystring"`
		Headers     map[string]jsonField `json:"headers"`
		Cookies     map[string]jsonField `json:"cookies"`
	} `json:"request"`
	Response *struct {
		StatusCode        int                  `json:"statusCode"`
		StatusDescription string               `json:"statusDescription"`
		Headers           map[string]jsonField `json:"headers"`
		Cookies           map[string]jsonField `json:"cookies"`
	} `json:"response"`
}

// fieldsFromJSON lists a JSON field object's names in order.
func fieldsFromJSON(m map[string]jsonField) []field {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]field, 0, len(names))
	for _, k := range names {
		f := m[k]
		e := field{name: k}
		if len(f.MultiValue) > 0 {
			for _, v := range f.MultiValue {
				e.values, e.attrs = append(e.values, v.Value), append(e.attrs, v.Attributes)
			}
		} else {
			e.values, e.attrs = []string{f.Value}, []string{f.Attributes}
		}
		out = append(out, e)
	}
	return out
}

// EventFromJSON reads an event in CloudFront's JSON (version 1.0), as
// aws cloudfront test-function takes it.
func EventFromJSON(raw []byte) (*Event, error) {
	var je jsonEvent
	if err := json.Unmarshal(raw, &je); err != nil {
		return nil, err
	}
	if je.Request == nil {
		return nil, fmt.Errorf("the event has no request")
	}
	ev := &Event{Type: je.Context.EventType, DistributionDomainName: je.Context.DistributionDomainName,
		DistributionID: je.Context.DistributionID, RequestID: je.Context.RequestID, ViewerIP: je.Viewer.IP,
		Method: je.Request.Method, URI: je.Request.URI, RawQuery: encodeQuery(fieldsFromJSON(je.Request.Querystring)),
		Header: http.Header{}}
	if ev.Method == "" {
		ev.Method = http.MethodGet
	}
	if ev.URI == "" {
		ev.URI = "/"
	}
	headers := fieldsFromJSON(je.Request.Headers)
	for _, e := range headers {
		if e.name == "host" {
			ev.Host = e.values[0]
		}
	}
	if err := applyFields(ev.Header, headers); err != nil {
		return nil, err
	}
	delete(ev.Header, "Host")
	if c := cookieLine(fieldsFromJSON(je.Request.Cookies), false); len(c) > 0 {
		ev.Header["Cookie"] = []string{strings.Join(c, "; ")}
	}
	if r := je.Response; r != nil {
		ev.Response = &Response{StatusCode: r.StatusCode, StatusDescription: r.StatusDescription, Header: http.Header{}}
		if err := applyFields(ev.Response.Header, fieldsFromJSON(r.Headers)); err != nil {
			return nil, err
		}
		if c := cookieLine(fieldsFromJSON(r.Cookies), true); len(c) > 0 {
			ev.Response.Header["Set-Cookie"] = c
		}
	}
	if ev.Type == "" {
		ev.Type = "viewer-request"
		if ev.Response != nil {
			ev.Type = "viewer-response"
		}
	}
	if ev.Type != "viewer-request" && ev.Type != "viewer-response" {
		return nil, fmt.Errorf("the event's type is %q, not viewer-request or viewer-response", ev.Type)
	}
	if ev.Type == "viewer-response" && ev.Response == nil {
		return nil, fmt.Errorf("a viewer-response event needs a response")
	}
	return ev, nil
}
