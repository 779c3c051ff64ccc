// Package functions runs CloudFront Functions (JavaScript, runtime 2.0)
// on goja: a handler gets CloudFront's event object and returns a request
// or a response. A function is compiled once; runtimes are pooled and
// reused; each invocation has a time budget, no network and no files.
package functions

import (
	_ "embed"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/dop251/goja"
)

// Limits, as CloudFront's.
const (
	MaxCodeSize = 10 << 10 // bytes of function code
	// Budget is the time an invocation may take.
	Budget = 20 * time.Millisecond
	// MaxStack is the deepest call stack.
	MaxStack = 1000
	// MaxItems is the longest string or array a built-in makes or walks
	// in one step, and MaxBytes the largest typed array or Buffer:
	// CloudFront gives a function 2 MB of memory.
	MaxItems = 1 << 20
	MaxBytes = 16 << 20
	// MaxLogBytes is what an invocation may log, as CloudFront truncates
	// function logs at 10 KB.
	MaxLogBytes = 10 << 10
	// MaxBodyBytes is the largest body of a response a function makes.
	MaxBodyBytes = 40 << 10
	// MaxHeaderBytes bounds the header fields a function returns, as
	// limits.max_header_bytes bounds a viewer's.
	MaxHeaderBytes = 64 << 10
)

// Function is a compiled function.
type Function struct {
	Name string
	prog *goja.Program
	// idle runtimes, kept across garbage collections (a sync.Pool would
	// drop them and each would have to run the function's code again).
	idle   chan *runtime
	Budget time.Duration
	KVS    map[string]string // cf.kvs(), when the behavior names a store
	entry  string            // handler, or connectionHandler
}

// ErrBudget is an invocation stopped at its time budget.
var ErrBudget = errors.New("the function ran past its time budget")

// importLine is an import declaration: `import x from 'm'`,
// `import {a, b as c} from 'm'`, `import * as x from 'm'`, `import x, {a}
// from 'm'` or `import 'm'`.
var importLine = regexp.MustCompile(`(?m)^[ \t]*import[ \t]+(?:([^'"\n;]+?)[ \t]+from[ \t]+)?['"]([\w-]+)['"][ \t]*;?`)

// requireFor turns an import's clause into declarations from require(m),
// on one line so that line numbers stay.
func requireFor(clause, m string) string {
	req := fmt.Sprintf("require(%q)", m)
	clause = strings.TrimSpace(clause)
	if clause == "" {
		return req + ";"
	}
	var decls []string
	for clause != "" {
		switch {
		case strings.HasPrefix(clause, "{"):
			end := strings.Index(clause, "}")
			if end < 0 {
				return "import " + clause // left for the parser to report
			}
			names := strings.Split(clause[1:end], ",")
			for i, n := range names {
				if from, to, ok := strings.Cut(strings.TrimSpace(n), " as "); ok {
					names[i] = strings.TrimSpace(from) + ": " + strings.TrimSpace(to)
				}
			}
			decls = append(decls, "{"+strings.Join(names, ",")+"} = "+req)
			clause = clause[end+1:]
		case strings.HasPrefix(clause, "*"):
			_, name, _ := strings.Cut(clause, " as ")
			name, clause, _ = strings.Cut(strings.TrimSpace(name), ",")
			decls = append(decls, strings.TrimSpace(name)+" = "+req)
		default:
			var name string
			name, clause, _ = strings.Cut(clause, ",")
			decls = append(decls, strings.TrimSpace(name)+" = "+req)
		}
		clause = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(clause), ","))
	}
	return "var " + strings.Join(decls, ", ") + ";"
}

//go:embed buffer.js
var bufferSource string

// bufferProgram defines Buffer in a runtime.
var bufferProgram = goja.MustCompile("buffer.js", bufferSource, true)

//go:embed harden.js
var hardenSource string

// hardenProgram bounds the built-ins that could make or walk something
// huge in one native step, which the time budget cannot interrupt.
var hardenProgram = goja.MustCompile("harden.js", hardenSource, true)

var promiseType = reflect.TypeOf((*goja.Promise)(nil))

var asyncHandler = regexp.MustCompile(`(^|[\s;}])async\s+function\s+(handler|connectionHandler)\s*\(`)

// Compile checks and compiles a function's source. Errors name the line.
func Compile(name, source string) (*Function, error) { return compileFor(name, source, "handler") }

// compileFor is Compile for a function whose entry point is entry.
func compileFor(name, source, entry string) (*Function, error) {
	if len(source) > MaxCodeSize {
		return nil, fmt.Errorf("function %s is %d bytes; CloudFront allows %d", name, len(source), MaxCodeSize)
	}
	// Runtime 2.0's import declarations become require calls.
	var bad []string
	for _, loc := range importLine.FindAllStringSubmatchIndex(source, -1) {
		if m := source[loc[4]:loc[5]]; !knownModule(m) {
			line := strings.Count(source[:loc[4]], "\n") + 1
			bad = append(bad, fmt.Sprintf("%s:%d: imports %s", name, line, m))
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s, which CloudFront Functions do not provide (crypto, querystring, buffer, cloudfront)", strings.Join(bad, "; "))
	}
	src := importLine.ReplaceAllStringFunc(source, func(line string) string {
		m := importLine.FindStringSubmatch(line)
		return requireFor(m[1], m[2])
	})
	// An async handler that never awaits settles before it returns: it is
	// run as an ordinary function, which spares a promise an invocation.
	if !strings.Contains(src, "await") {
		src = asyncHandler.ReplaceAllString(src, "${1}function ${2}(")
	}
	prog, err := goja.Compile(name, src, true)
	if err != nil {
		return nil, fmt.Errorf("function %s: %v", name, err)
	}
	f := &Function{Name: name, prog: prog, Budget: Budget, idle: make(chan *runtime, 4*goruntime.GOMAXPROCS(0)), entry: entry}
	// Run it once now: a missing handler is a config error, not a 503.
	vm, err := f.newRuntime()
	if err != nil {
		return nil, err
	}
	f.put(vm)
	return f, nil
}

// put keeps an idle runtime for the next invocation, unless enough are
// kept already.
func (f *Function) put(rt *runtime) {
	if rt.b != nil {
		rt.b.clear()
	}
	select {
	case f.idle <- rt:
	default:
	}
}

func knownModule(m string) bool {
	switch m {
	case "crypto", "querystring", "buffer", "cloudfront":
		return true
	}
	return false
}

type runtime struct {
	vm      *goja.Runtime
	handler goja.Callable
	logs    []string
	// origin is what the cloudfront module's origin helpers chose during
	// the current invocation; eventType the current event's type.
	origin    *OriginChange
	eventType string
	timer     *time.Timer // interrupts an invocation at its budget
	logBytes  int         // what the invocation logged so far
	b         *built      // the event's objects, reused
}

func (f *Function) newRuntime() (*runtime, error) {
	vm := goja.New()
	vm.SetMaxCallStackSize(MaxStack)
	rt := &runtime{vm: vm}
	console := vm.NewObject()
	console.Set("log", func(call goja.FunctionCall) goja.Value {
		if rt.logBytes > MaxLogBytes {
			return goja.Undefined()
		}
		parts := make([]string, len(call.Arguments))
		for i, a := range call.Arguments {
			parts[i] = a.String()
		}
		line := strings.Join(parts, " ")
		if rt.logBytes += len(line); rt.logBytes > MaxLogBytes {
			line = strings.ToValidUTF8(line[:max(0, len(line)-(rt.logBytes-MaxLogBytes))], "") + " … (logs truncated at 10 KB)"
		}
		rt.logs = append(rt.logs, line)
		return goja.Undefined()
	})
	vm.Set("console", console)
	// Buffer is a global, as in Node and CloudFront's runtime 2.0.
	vm.Set("__encode", func(call goja.FunctionCall) goja.Value {
		s, err := encodeBytes(bytesOf(call.Argument(0)), call.Argument(1).String())
		if err != nil {
			panic(vm.NewTypeError(err.Error()))
		}
		return vm.ToValue(s)
	})
	vm.Set("__decode", func(s, enc string) goja.ArrayBuffer {
		b, err := decodeString(s, enc)
		if err != nil {
			panic(vm.NewTypeError(err.Error()))
		}
		return vm.NewArrayBuffer(b)
	})
	vm.Set("__limits", map[string]int{"items": MaxItems, "bytes": MaxBytes})
	for _, p := range []*goja.Program{bufferProgram, hardenProgram} {
		if _, err := vm.RunProgram(p); err != nil {
			return nil, err
		}
	}
	for _, name := range []string{"__encode", "__decode", "__limits"} {
		vm.GlobalObject().Delete(name)
	}
	vm.Set("require", func(name string) goja.Value { return f.module(rt, name) })
	if _, err := vm.RunProgram(f.prog); err != nil {
		return nil, fmt.Errorf("function %s: %v", f.Name, err)
	}
	h, ok := goja.AssertFunction(vm.Get(f.entry))
	if !ok {
		arg := "event"
		if f.entry == "connectionHandler" {
			arg = "connection"
		}
		return nil, fmt.Errorf("function %s has no %s(%s) function", f.Name, f.entry, arg)
	}
	rt.handler = h
	return rt, nil
}

// Run calls the handler with the event and reads what it returned. The
// outcome holds what the function logged, also when err says it failed.
func (f *Function) Run(ev *Event) (Outcome, error) {
	var out Outcome
	rt, v, b, err := f.call(ev, &out)
	if rt != nil {
		if err == nil {
			err = b.read(v, &out)
		}
		f.put(rt)
	}
	return out, err
}

// RunJSON calls the handler and returns what it returned as JSON, with
// "request" or "response" for its kind, as aws cloudfront test-function
// shows it.
func (f *Function) RunJSON(ev *Event) (kind string, js []byte, out Outcome, err error) {
	rt, v, b, err := f.call(ev, &out)
	if rt == nil {
		return "", nil, out, err
	}
	defer f.put(rt)
	if err == nil {
		err = b.read(v, &out)
	}
	if err != nil {
		return "", nil, out, err
	}
	kind = "request"
	if out.Response != nil {
		kind = "response"
	}
	js, err = v.ToObject(rt.vm).MarshalJSON()
	return kind, js, out, err
}

// call runs the handler on a runtime of the pool and settles its promise.
// It returns the runtime, to be put back once the result is read, or nil
// when the runtime cannot serve again (it was interrupted, or could not
// be made). out gets the logs and the origin chosen.
func (f *Function) call(ev *Event, out *Outcome) (rt *runtime, v goja.Value, b *built, err error) {
	select {
	case rt = <-f.idle:
	default:
		if rt, err = f.newRuntime(); err != nil {
			return nil, nil, nil, err
		}
	}
	rt.logs, rt.origin, rt.eventType, rt.logBytes = nil, nil, ev.Type, 0
	obj, b := rt.event(ev)
	v, err = f.invoke(rt, obj)
	out.Logs, out.Origin = rt.logs, rt.origin
	rt.logs, rt.origin = nil, nil
	if errors.Is(err, ErrBudget) {
		return nil, nil, nil, err // an interrupted runtime is not reused
	}
	return rt, v, b, err
}

// invoke calls the entry point with arg within the time budget and
// settles a promise it returns. ErrBudget means the runtime was
// interrupted and must not serve again.
func (f *Function) invoke(rt *runtime, arg goja.Value) (goja.Value, error) {
	budget := f.Budget
	if budget <= 0 {
		budget = Budget
	}
	if rt.timer == nil {
		rt.timer = time.AfterFunc(budget, func() { rt.vm.Interrupt(ErrBudget) })
	} else {
		rt.timer.Reset(budget)
	}
	v, err := rt.handler(goja.Undefined(), arg)
	stopped := !rt.timer.Stop()
	if err != nil {
		var ie *goja.InterruptedError
		if errors.As(err, &ie) {
			return nil, ErrBudget
		}
		return nil, err
	}
	if stopped {
		rt.vm.ClearInterrupt()
	}
	if o, ok := v.(*goja.Object); ok && o.ExportType() == promiseType {
		p := o.Export().(*goja.Promise)
		switch p.State() {
		case goja.PromiseStateFulfilled:
			v = p.Result()
		case goja.PromiseStateRejected:
			return nil, fmt.Errorf("the handler's promise was rejected: %v", p.Result())
		default:
			return nil, errors.New("the handler's promise never settled")
		}
	}
	return v, nil
}
