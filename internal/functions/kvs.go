package functions

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// LoadKeyValueStore reads a key value store in CloudFront's import format:
// {"data": [{"key": "...", "value": "..."}, ...]}.
func LoadKeyValueStore(file string) (map[string]string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Data []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		why := err.Error()
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			why = fmt.Sprintf("a JSON %s where %s belongs", te.Value, map[bool]string{true: "the top level object", false: "field " + te.Field}[te.Field == ""])
		}
		return nil, fmt.Errorf("%s is not a key value store (CloudFront's import format, {\"data\": [{\"key\": ..., \"value\": ...}]}): %s", file, why)
	}
	m := make(map[string]string, len(doc.Data))
	for _, e := range doc.Data {
		m[e.Key] = e.Value
	}
	return m, nil
}
