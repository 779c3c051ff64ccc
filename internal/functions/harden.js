// Limits on the built-ins that make or walk big things in one native step,
// where a time budget cannot stop them: CloudFront gives a function 2 MB
// of memory, edgefront refuses strings and arrays past __limits.
(function (global, limits) {
    'use strict';
    var items = limits.items, bytes = limits.bytes;
    function over(what, n, max) {
        throw new RangeError(what + ' of ' + n + ' is more than a function may make (' + max + ')');
    }
    function checked(fn, name, max) {
        return function () {
            if (this != null && this.length > max) {
                over(name + ' on a length', this.length, max);
            }
            return fn.apply(this, arguments);
        };
    }
    function guardMethods(proto, max) {
        Object.getOwnPropertyNames(proto).forEach(function (k) {
            var d = Object.getOwnPropertyDescriptor(proto, k);
            if (k !== 'constructor' && typeof d.value === 'function') {
                d.value = checked(d.value, k, max);
                Object.defineProperty(proto, k, d);
            }
        });
    }
    // Every method walks this.length: a sparse array's length is free to set.
    guardMethods(Array.prototype, items);
    guardMethods(Object.getPrototypeOf(Uint8Array.prototype), bytes);
    // Spread, for...of, Set, Map and Promise.all walk an array through its
    // iterator, apply through its length, concat its arguments' lengths.
    var values = Array.prototype[Symbol.iterator];
    Object.defineProperty(Array.prototype, Symbol.iterator, {writable: true, configurable: true, value: function () {
        if (this.length > items) {
            over('iterating a length', this.length, items);
        }
        return values.call(this);
    }});
    function checkArgs(args, what) {
        if (args != null && args.length > items) {
            over(what + ' with a length', args.length, items);
        }
    }
    var apply = Function.prototype.apply;
    Object.defineProperty(Function.prototype, 'apply', {writable: true, configurable: true, value: function (thisArg, args) {
        checkArgs(args, 'apply');
        return apply.call(this, thisArg, args);
    }});
    var reflectApply = Reflect.apply, reflectConstruct = Reflect.construct;
    Reflect.apply = function (f, thisArg, args) {
        checkArgs(args, 'Reflect.apply');
        return reflectApply(f, thisArg, args);
    };
    Reflect.construct = function (C, args, newTarget) {
        checkArgs(args, 'Reflect.construct');
        return arguments.length > 2 ? reflectConstruct(C, args, newTarget) : reflectConstruct(C, args);
    };
    ['all', 'allSettled', 'any', 'race'].forEach(function (name) {
        var orig = Promise[name];
        if (typeof orig === 'function') {
            Promise[name] = function (iterable) {
                checkArgs(iterable, 'Promise.' + name);
                return reflectApply(orig, this, arguments);
            };
        }
    });
    var concat = Array.prototype.concat;
    Object.defineProperty(Array.prototype, 'concat', {writable: true, configurable: true, value: function () {
        var n = this.length;
        for (var i = 0; i < arguments.length; i++) {
            n += Array.isArray(arguments[i]) ? arguments[i].length : 1;
        }
        if (n > items) {
            over('concat to a length', n, items);
        }
        return reflectApply(concat, this, arguments);
    }});
    // join makes one string of them all: add up what it would make first.
    var join = Array.prototype.join;
    Object.defineProperty(Array.prototype, 'join', {writable: true, configurable: true, value: function (sep) {
        if (this.length > items) {
            over('join on a length', this.length, items);
        }
        var n = 0, s = sep === undefined ? 1 : String(sep).length;
        for (var i = 0; i < this.length; i++) {
            var v = this[i];
            n += (typeof v === 'string' ? v.length : 0) + (i > 0 ? s : 0);
            if (n > items) {
                over('a joined string', n, items);
            }
        }
        return join.apply(this, arguments);
    }});
    var from = Array.from;
    Array.from = function (src) {
        if (src != null && src.length > items) {
            over('Array.from on a length', src.length, items);
        }
        return from.apply(this, arguments);
    };
    var repeat = String.prototype.repeat, padStart = String.prototype.padStart, padEnd = String.prototype.padEnd;
    Object.defineProperty(String.prototype, 'repeat', {writable: true, configurable: true, value: function (count) {
        if (String(this).length * count > items) {
            over('a repeated string', String(this).length * count, items);
        }
        return repeat.call(this, count);
    }});
    [['padStart', padStart], ['padEnd', padEnd]].forEach(function (p) {
        Object.defineProperty(String.prototype, p[0], {writable: true, configurable: true, value: function (n) {
            if (n > items) {
                over('a padded string', n, items);
            }
            return p[1].apply(this, arguments);
        }});
    });
    // replace and replaceAll with a long replacement: count the matches
    // first (a function replacement builds its own strings, which are
    // limited where they are made).
    ['replace', 'replaceAll'].forEach(function (name) {
        var orig = String.prototype[name];
        Object.defineProperty(String.prototype, name, {writable: true, configurable: true, value: function (pattern, replacement) {
            var s = String(this);
            if (typeof replacement === 'string' && replacement.length > 1 && s.length * replacement.length > items) {
                var all = name === 'replaceAll' || (pattern instanceof RegExp && pattern.global);
                var matches = 0;
                if (!all) {
                    matches = 1;
                } else if (pattern instanceof RegExp) {
                    matches = (s.match(pattern) || []).length;
                } else {
                    var p = String(pattern), step = Math.max(p.length, 1);
                    for (var i = s.indexOf(p); i >= 0; i = s.indexOf(p, i + step)) {
                        matches++;
                    }
                }
                if (s.length + matches * replacement.length > items) {
                    over('a replaced string', s.length + matches * replacement.length, items);
                }
            }
            return orig.apply(this, arguments);
        }});
    });
    // Typed arrays and buffers of more than the limit are not made.
    ['ArrayBuffer', 'Uint8Array', 'Uint8ClampedArray', 'Int8Array', 'Uint16Array', 'Int16Array', 'Uint32Array',
        'Int32Array', 'Float32Array', 'Float64Array'].forEach(function (name) {
        var C = global[name];
        if (typeof C !== 'function') {
            return;
        }
        var size = C.BYTES_PER_ELEMENT || 1;
        var W = function () {
            if (new.target === undefined) {
                throw new TypeError('Constructor ' + name + " requires 'new'");
            }
            if (typeof arguments[0] === 'number' && arguments[0] * size > bytes) {
                over('a ' + name + ' of bytes', arguments[0] * size, bytes);
            }
            return Reflect.construct(C, arguments, new.target === W ? C : new.target);
        };
        Object.setPrototypeOf(W, Object.getPrototypeOf(C));
        Object.getOwnPropertyNames(C).forEach(function (k) {
            if (k !== 'length' && k !== 'name' && k !== 'arguments' && k !== 'caller') {
                Object.defineProperty(W, k, Object.getOwnPropertyDescriptor(C, k));
            }
        });
        Object.defineProperty(W, 'name', {value: name});
        Object.defineProperty(C.prototype, 'constructor', {value: W, writable: true, configurable: true});
        global[name] = W;
    });
    // JSON.stringify walks shared objects once per reference: count what it
    // writes.
    var stringify = JSON.stringify;
    JSON.stringify = function (value, replacer, space) {
        if (Array.isArray(replacer)) {
            return stringify(value, replacer, space); // its keys, in its order
        }
        var n = 0;
        return stringify(value, function (k, v) {
            if (++n > items) {
                over('JSON.stringify on values', n, items);
            }
            return typeof replacer === 'function' ? replacer.call(this, k, v) : v;
        }, space);
    };
})(this, __limits);
