// Buffer, as CloudFront Functions' runtime 2.0 has it: a Uint8Array with
// Node's methods. The encodings (utf8, hex, base64, base64url, latin1) are
// done in Go by __encode and __decode.
(function (global, encode, decode, maxBytes) {
    'use strict';
    function checkSize(n) {
        if (n > maxBytes) {
            throw new RangeError('a Buffer of ' + n + ' bytes is more than a function may make (' + maxBytes + ')');
        }
        return n;
    }
    var encodings = ['utf8', 'utf-8', 'hex', 'base64', 'base64url', 'latin1', 'binary', 'ascii'];
    function checkEncoding(enc) {
        enc = (enc || 'utf8').toLowerCase();
        if (encodings.indexOf(enc) < 0) {
            throw new TypeError('Unknown encoding: ' + enc);
        }
        return enc;
    }
    class Buffer extends Uint8Array {
        static from(value, encOrOffset, length) {
            if (typeof value === 'string') {
                return new Buffer(decode(value, checkEncoding(encOrOffset)));
            }
            if (value instanceof ArrayBuffer) {
                var off = encOrOffset || 0;
                return new Buffer(value, off, length === undefined ? value.byteLength - off : length);
            }
            if (value instanceof Uint8Array || Array.isArray(value)) {
                var b = new Buffer(checkSize(value.length));
                for (var i = 0; i < value.length; i++) {
                    b[i] = value[i];
                }
                return b;
            }
            if (value && value.type === 'Buffer' && Array.isArray(value.data)) {
                return Buffer.from(value.data);
            }
            throw new TypeError('The first argument must be a string, Buffer, ArrayBuffer or Array');
        }
        static alloc(size, fill, enc) {
            var b = new Buffer(checkSize(size));
            if (fill !== undefined) {
                b.fill(fill, 0, size, enc);
            }
            return b;
        }
        static allocUnsafe(size) {
            return new Buffer(checkSize(size));
        }
        static byteLength(value, enc) {
            if (typeof value !== 'string') {
                return value.byteLength;
            }
            return decode(value, checkEncoding(enc)).byteLength;
        }
        static concat(list, total) {
            if (total === undefined) {
                total = 0;
                for (var i = 0; i < list.length; i++) {
                    total += list[i].length;
                }
            }
            var out = Buffer.alloc(checkSize(total)), pos = 0;
            for (var j = 0; j < list.length && pos < total; j++) {
                var part = list[j].subarray(0, total - pos);
                out.set(part, pos);
                pos += part.length;
            }
            return out;
        }
        static isBuffer(b) {
            return b instanceof Buffer;
        }
        static isEncoding(enc) {
            return typeof enc === 'string' && encodings.indexOf(enc.toLowerCase()) >= 0;
        }
        static compare(a, b) {
            return a.compare(b);
        }
        toString(enc, start, end) {
            return encode(this.subarray(start || 0, end === undefined ? this.length : end), checkEncoding(enc));
        }
        toJSON() {
            return {type: 'Buffer', data: Array.prototype.slice.call(this)};
        }
        equals(other) {
            return this.compare(other) === 0;
        }
        compare(other) {
            var n = Math.min(this.length, other.length);
            for (var i = 0; i < n; i++) {
                if (this[i] !== other[i]) {
                    return this[i] < other[i] ? -1 : 1;
                }
            }
            return this.length === other.length ? 0 : (this.length < other.length ? -1 : 1);
        }
        slice(start, end) {
            return this.subarray(start, end);
        }
        subarray(start, end) {
            var s = Uint8Array.prototype.subarray.call(this, start, end);
            return new Buffer(s.buffer, s.byteOffset, s.length);
        }
        copy(target, targetStart, start, end) {
            var part = this.subarray(start || 0, end === undefined ? this.length : end);
            targetStart = targetStart || 0;
            part = part.subarray(0, Math.max(0, target.length - targetStart));
            target.set(part, targetStart);
            return part.length;
        }
        fill(value, start, end, enc) {
            start = start || 0;
            end = end === undefined ? this.length : end;
            if (typeof value === 'number') {
                return Uint8Array.prototype.fill.call(this, value & 255, start, end);
            }
            var bytes = typeof value === 'string' ? Buffer.from(value, enc) : value;
            if (bytes.length === 0) {
                return Uint8Array.prototype.fill.call(this, 0, start, end);
            }
            for (var i = start; i < end; i++) {
                this[i] = bytes[(i - start) % bytes.length];
            }
            return this;
        }
        indexOf(value, from, enc) {
            if (typeof value === 'number') {
                return Uint8Array.prototype.indexOf.call(this, value & 255, from);
            }
            var needle = typeof value === 'string' ? Buffer.from(value, enc) : value;
            outer: for (var i = from || 0; i + needle.length <= this.length; i++) {
                for (var j = 0; j < needle.length; j++) {
                    if (this[i + j] !== needle[j]) {
                        continue outer;
                    }
                }
                return i;
            }
            return -1;
        }
        includes(value, from, enc) {
            return this.indexOf(value, from, enc) >= 0;
        }
        write(string, offset, length, enc) {
            if (typeof offset === 'string') {
                enc = offset;
                offset = 0;
            } else if (typeof length === 'string') {
                enc = length;
                length = undefined;
            }
            offset = offset || 0;
            var bytes = Buffer.from(string, enc);
            var n = Math.min(bytes.length, this.length - offset, length === undefined ? Infinity : length);
            this.set(bytes.subarray(0, n), offset);
            return n;
        }
        readUInt8(o) { return this[o || 0]; }
        readInt8(o) { var v = this[o || 0]; return v > 127 ? v - 256 : v; }
        readUInt16BE(o) { o = o || 0; return this[o] << 8 | this[o + 1]; }
        readUInt16LE(o) { o = o || 0; return this[o] | this[o + 1] << 8; }
        readUInt32BE(o) { o = o || 0; return (this[o] * 0x1000000) + (this[o + 1] << 16 | this[o + 2] << 8 | this[o + 3]); }
        readUInt32LE(o) { o = o || 0; return (this[o + 3] * 0x1000000) + (this[o + 2] << 16 | this[o + 1] << 8 | this[o]); }
        readInt32BE(o) { return this.readUInt32BE(o) | 0; }
        readInt32LE(o) { return this.readUInt32LE(o) | 0; }
    }
    global.Buffer = Buffer;
})(this, __encode, __decode, __limits.bytes);
