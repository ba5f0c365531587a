package enr

import "math/bits"

// Size arithmetic and header writers for the few RLP shapes a record is
// built from. Records are encoded by appending into one exactly sized buffer,
// which keeps signing and encoding free of intermediate allocations.

// headerSize is the size of the header of a string or list whose payload is
// n bytes long (n > 55 needs a length-of-length prefix).
func headerSize(n int) int {
	if n < 56 {
		return 1
	}
	return 1 + byteLen(uint64(n))
}

func byteLen(x uint64) int { return (bits.Len64(x) + 7) / 8 }

// stringSize is the encoded size of the byte string s.
func stringSize(s []byte) int {
	if len(s) == 1 && s[0] < 0x80 {
		return 1
	}
	return headerSize(len(s)) + len(s)
}

// listSize is the encoded size of a list with a payload of n bytes.
func listSize(n int) int { return headerSize(n) + n }

// uintSize is the encoded size of the integer x.
func uintSize(x uint64) int {
	if x < 0x80 {
		return 1
	}
	return 1 + byteLen(x)
}

func appendHeader(b []byte, small byte, n int) []byte {
	if n < 56 {
		return append(b, small+byte(n))
	}
	l := byteLen(uint64(n))
	b = append(b, small+55+byte(l))
	for i := l - 1; i >= 0; i-- {
		b = append(b, byte(uint64(n)>>(8*i)))
	}
	return b
}

func appendString(b, s []byte) []byte {
	if len(s) == 1 && s[0] < 0x80 {
		return append(b, s[0])
	}
	return append(appendHeader(b, 0x80, len(s)), s...)
}

func appendListHeader(b []byte, n int) []byte { return appendHeader(b, 0xC0, n) }
