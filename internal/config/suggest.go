package config

import (
	"reflect"
	"sort"
	"strings"
	"sync"
)

// didYouMean returns ` (did you mean "x"?)` when one of options is close
// to s (a typo away, or one holding the other, as origin and
// target_origin), or "".
func didYouMean(s string, options []string) string {
	best, bestD := "", 0
	ls := strings.ToLower(s)
	for _, o := range options {
		lo := strings.ToLower(o)
		d := distance(ls, lo)
		if d > max(1, len(s)/3) {
			if min(len(ls), len(lo)) < 4 || !strings.Contains(lo, ls) && !strings.Contains(ls, lo) {
				continue
			}
			d += 100 // a typo is the likelier meaning
		}
		if best == "" || d < bestD {
			best, bestD = o, d
		}
	}
	if best == "" || best == s {
		return ""
	}
	return ` (did you mean "` + best + `"?)`
}

// distance is the Levenshtein distance, counting a swap of two
// neighbouring letters as one edit.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// keysOf returns the YAML keys of a config struct type, by the type's
// name ("Behavior"), for suggestions.
func keysOf(typeName string) []string {
	return yamlKeys()[typeName]
}

// yamlKeys maps each config struct type's name to its YAML keys.
var yamlKeys = sync.OnceValue(func() map[string][]string {
	m := map[string][]string{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t.PkgPath() != reflect.TypeOf(Config{}).PkgPath() {
			return
		}
		if _, seen := m[t.Name()]; seen {
			return
		}
		m[t.Name()] = nil
		var keys []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			keys = append(keys, name)
			walk(f.Type)
		}
		sort.Strings(keys)
		m[t.Name()] = keys
	}
	walk(reflect.TypeOf(Config{}))
	return m
})
