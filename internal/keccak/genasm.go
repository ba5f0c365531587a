//go:build ignore

// This program generates permute_amd64.s, Keccak-f[1600] for amd64 CPUs with
// AVX-512F and AVX-512VL, working on 256-bit registers. Run it with
// `go generate` in this directory.
//
// # Layout
//
// Lane (x, y) is written A[y][x]. The 25 lanes live in seven ymm registers
// (slots 0-3):
//
//	R00 = A[0][0] in every slot
//	R01 = A[0][1] A[0][2] A[0][3] A[0][4]
//	R20 = A[2][0] A[4][0] A[1][0] A[3][0]
//	R31 = A[3][1] A[1][2] A[4][3] A[2][4]
//	R21 = A[2][1] A[4][2] A[1][3] A[3][4]
//	R41 = A[4][1] A[3][2] A[2][3] A[1][4]
//	R11 = A[1][1] A[2][2] A[3][3] A[4][4]
//
// In R01, R31, R21, R41 and R11 slot i holds column i+1 and the five
// registers hold each row once per slot, so theta's parities C[1..4] are two
// three-way XORs of whole registers; C[0] is A[0][0] and a horizontal XOR of
// R20. main checks both properties before generating anything.
//
// # Round
//
// Pi sends the lanes of each register to the lanes of one register (R01 ->
// R20, R20 -> R31, R31 -> R21, R21 -> R41, R41 -> R11, R11 -> R01), so the
// layout survives a round. Pi is never done on its own: for every output
// register, chi's three operands (the lane itself and its row neighbours x+1
// and x+2, all in post-pi positions) are gathered straight from the
// registers after rho. A gather is nothing (already in place), one VPERMQ
// (one source register), one VPERMI2Q (two), or blends into two vectors
// followed by one VPERMI2Q (three or four); gather() picks the cheapest and
// simulates it on lane numbers to check it. Each output is then one
// VPTERNLOGQ. Iota XORs the round constant (in every slot) into the copy of
// R00 that is chi's own-lane operand for A[0][0]. Rounds alternate between
// two register sets (Y0-Y6, Y7-Y13), so a loop iteration is two rounds;
// each round is list-scheduled (flush) and its temporaries get whatever
// registers are free. The first and last rounds run outside the loop and
// convert from and to rowLayout, which loads and stores whole rows.
//
// # Cost (Zen 4, EPYC at about 3.65 GHz)
//
// Per round in the loop (main counts them into permute_amd64.s's header):
// 85 instructions: 38 on the two shuffle pipes (7 VPERMI2Q, 6 VPERMQ,
// 4 VALIGNQ, 2 VINSERTI32X4, 1 VSHUFI64X2, 2 VPBROADCASTQ, 6 unpacks, 2
// VPSHUFD, 6 VPROLVQ, 2 VPROLQ), 37 logic or blends (16 VPTERNLOGQ, 17
// VPBLENDMQ, 4 VPXORQ), 7 index loads and 3 register moves. The latency
// path (chi output -> C[1..4] 2 -> rotate 2 -> VALIGNQ 3 -> blend 1 ->
// theta 1 -> rho 2 -> blends 2 -> VPERMI2Q 4 -> chi 1) is 18 cycles;
// four vector pipes need at least about 19 cycles for the instructions, and
// the list scheduler's model (flush) gives 28. Measured: about 36 cycles a
// round (238.6 ns a permutation against 294.1 ns for permute, -18.9%).
// Experiments that changed neither count nor path much (layout search,
// schedule jitter, other theta forms, peeling) moved it by 1-2%.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"sort"
	"strings"
)

var (
	rho [5][5]int // rho[x][y]
	rc  [24]uint64
)

func init() {
	// FIPS 202 3.2.2: walk (x, y) -> (y, 2x+3y) from (1, 0); step t rotates by
	// (t+1)(t+2)/2.
	x, y := 1, 0
	for t := range 24 {
		rho[x][y] = (t + 1) * (t + 2) / 2 % 64
		x, y = y, (2*x+3*y)%5
	}
	// FIPS 202 3.2.5: rc(t) is the output of an LFSR over x^8+x^6+x^5+x^4+1;
	// round i sets bit 2^j-1 of lane (0, 0) to rc(j + 7i).
	var r uint8 = 1
	bit := make([]uint64, 7*24)
	for t := range bit {
		bit[t] = uint64(r & 1)
		hi := r & 0x80
		r <<= 1
		if hi != 0 {
			r ^= 0x71
		}
	}
	for i := range rc {
		for j := range 7 {
			rc[i] |= bit[j+7*i] << (1<<j - 1)
		}
	}
}

// lane numbers are x + 5y, the index into the [25]uint64.
func lane(x, y int) int { return x + 5*y }

func mod5(v int) int { return ((v % 5) + 5) % 5 }

// The layout: register index -> lanes in slots 0..3. Index 0 is R00.
var layout = [7][4]int{
	{lane(0, 0), lane(0, 0), lane(0, 0), lane(0, 0)},
	{lane(1, 0), lane(2, 0), lane(3, 0), lane(4, 0)},
	{lane(0, 2), lane(0, 4), lane(0, 1), lane(0, 3)},
	{lane(1, 3), lane(2, 1), lane(3, 4), lane(4, 2)},
	{lane(1, 2), lane(2, 4), lane(3, 1), lane(4, 3)},
	{lane(1, 4), lane(2, 3), lane(3, 2), lane(4, 1)},
	{lane(1, 1), lane(2, 2), lane(3, 3), lane(4, 4)},
}

// layouts are the layouts rounds cycle through, found by -search.
var layouts = [][7][4]int{
	{{0, 0, 0, 0}, {11, 7, 23, 14}, {15, 5, 10, 20}, {6, 12, 18, 24}, {16, 22, 8, 9}, {1, 2, 3, 4}, {21, 17, 13, 19}},
	{{0, 0, 0, 0}, {16, 22, 13, 14}, {5, 10, 15, 20}, {11, 17, 23, 19}, {6, 12, 18, 24}, {1, 2, 3, 4}, {21, 7, 8, 9}},
}

// colRegs are the registers whose slot i holds column i+1.
var colRegs = []int{1, 3, 4, 5, 6}

func checkLayout(layout [7][4]int) {
	seen := map[int]bool{}
	for r := 1; r < 7; r++ {
		for _, l := range layout[r] {
			if seen[l] || l == 0 {
				log.Fatalf("lane %d placed twice", l)
			}
			seen[l] = true
		}
	}
	if len(seen) != 24 {
		log.Fatal("layout misses lanes")
	}
	for s := range 4 {
		rows := map[int]bool{}
		for _, r := range colRegs {
			l := layout[r][s]
			if l%5 != s+1 {
				log.Fatalf("register %d slot %d is not column %d", r, s, s+1)
			}
			rows[l/5] = true
		}
		if len(rows) != 5 {
			log.Fatalf("slot %d misses a row", s)
		}
	}
	for _, l := range layout[2] {
		if l%5 != 0 {
			log.Fatal("R20 holds a lane outside column 0")
		}
	}
}

var (
	out  bytes.Buffer
	data = map[string][]uint64{}
	// counts of emitted instructions by class, per round (reset per round).
	count = map[string]int{}
	// masks maps blend masks to K registers.
	masks = map[int]int{}
)

func p(format string, args ...any) { fmt.Fprintf(&out, "\t"+format+"\n", args...) }

// op records an instruction of a round and counts it under class. Its
// register operands are virtual (see y and x); flush schedules the round's
// instructions and assigns physical registers.
func op(class, format string, args ...any) {
	count[class]++
	pending = append(pending, fmt.Sprintf(format, args...))
}

var tableOff = map[string]int{}

// table appends v to the DATA symbol sym, unless it is there already, and
// returns its byte offset.
func table(sym string, v ...uint64) int {
	key := fmt.Sprint(sym, v)
	if off, ok := tableOff[key]; ok {
		return off
	}
	off := 8 * len(data[sym])
	data[sym] = append(data[sym], v...)
	tableOff[key] = off
	return off
}

// y and x name virtual register r (0-13 are the two state sets, pinned to
// Y0-Y13 at round boundaries; temporaries are numbered from 100).
func y(r int) string { return fmt.Sprintf("«Y%d»", r) }
func x(r int) string { return fmt.Sprintf("«X%d»", r) }

// kmask returns the K register holding the blend mask m (bit i: slot i).
func kmask(m int) string {
	k, ok := masks[m]
	if !ok {
		k = len(masks) + 1
		if k > 7 {
			panic("more than 7 blend masks")
		}
		masks[m] = k
	}
	return fmt.Sprintf("K%d", k)
}

var nextTmp = 100

// tmp returns a fresh virtual register.
func tmp() int {
	nextTmp++
	return nextTmp
}

// src is a register's contents as lane numbers, after rho.
type src struct {
	reg   int // physical register number, -1 for a derived source not yet emitted
	lanes [4]int
	// A derived source is one in-lane shuffle (latency 1) of base sources
	// a and b: "lo" VPUNPCKLQDQ, "hi" VPUNPCKHQDQ, "swap" VPSHUFD $0x4e.
	kind string
	a, b int
}

// derive appends to base every in-lane shuffle that gather may use.
func derive(base []src) []src {
	all := append([]src(nil), base...)
	for i, s := range base {
		if s.lanes[0] == s.lanes[1] {
			continue // a broadcast gains nothing
		}
		l := s.lanes
		all = append(all, src{-1, [4]int{l[1], l[0], l[3], l[2]}, "swap", i, i})
		for j, t := range base {
			if j == i || t.lanes[0] == t.lanes[1] {
				continue
			}
			m := t.lanes
			all = append(all, src{-1, [4]int{l[0], m[0], l[2], m[2]}, "lo", i, j})
			all = append(all, src{-1, [4]int{l[1], m[1], l[3], m[3]}, "hi", i, j})
		}
	}
	return all
}

// emitDerived emits a derived source into a temporary.
func emitDerived(all []src, i int) {
	s := &all[i]
	if s.reg >= 0 {
		return
	}
	key := fmt.Sprint(s.kind, all[s.a].reg, all[s.b].reg)
	if r, ok := derivedMemo[key]; ok {
		s.reg = r
		return
	}
	s.reg = tmp()
	derivedMemo[key] = s.reg
	switch s.kind {
	case "swap":
		op("shuf", "VPSHUFD $0x4e, %s, %s", y(all[s.a].reg), y(s.reg))
	case "lo":
		op("shuf", "VPUNPCKLQDQ %s, %s, %s", y(all[s.b].reg), y(all[s.a].reg), y(s.reg))
	case "hi":
		op("shuf", "VPUNPCKHQDQ %s, %s, %s", y(all[s.b].reg), y(all[s.a].reg), y(s.reg))
	}
}

type pick struct{ r, s int } // source index and slot

// gather emits code leaving need (lane per slot) in a register and returns
// it. If dst >= 0 the result must be in dst (a fresh copy, as chi
// overwrites it). It verifies the result on lane numbers.
func gather(srcs []src, need [4]int, dst int) int {
	var got [4]int
	defer func() {
		if e := recover(); e != nil {
			panic(e)
		}
		if got != need {
			log.Fatalf("gather of %v produced %v", need, got)
		}
	}()
	// Already in place?
	for _, s := range srcs {
		if s.lanes == need {
			got = s.lanes
			if dst < 0 {
				return s.reg
			}
			op("move", "VMOVDQA64 %s, %s", y(s.reg), y(dst))
			return dst
		}
	}
	if dst < 0 {
		dst = tmp()
	}
	// One source register: VPERMQ.
	for _, s := range srcs {
		imm, ok := 0, true
		for t, l := range need {
			found := -1
			for i, v := range s.lanes {
				if v == l {
					found = i
					break
				}
			}
			if found < 0 {
				ok = false
				break
			}
			imm |= found << (2 * t)
			got[t] = s.lanes[found]
		}
		if ok {
			permute1(imm, s.reg, dst)
			return dst
		}
	}
	// candidates per target slot, from base and derived sources
	srcs = derive(srcs)
	cands := make([][]pick, 4)
	for t, l := range need {
		for i, s := range srcs {
			for sl, v := range s.lanes {
				if v == l {
					cands[t] = append(cands[t], pick{i, sl})
				}
			}
		}
		if len(cands[t]) == 0 {
			log.Fatalf("lane %d in no register", l)
		}
	}
	// Blends only: every lane already in its slot somewhere.
	{
		var choice [4]int
		ok := true
		for t := range 4 {
			choice[t] = -1
			for _, c := range cands[t] {
				if c.s == t {
					choice[t] = c.r
					break
				}
			}
			if choice[t] < 0 {
				ok = false
			}
		}
		if ok {
			var r int
			r, got = blend(srcs, choice, dst)
			if r != dst {
				op("move", "VMOVDQA64 %s, %s", y(r), y(dst))
			}
			return dst
		}
	}
	// General: every target slot t takes a (source, slot) in group 0 or 1;
	// within a group, slots must differ; the groups are blended and then
	// VPERMI2Q picks from the two. Minimise blends plus derived shuffles.
	best, bestGroup, bestCost := search(srcs, cands)
	if bestCost == 1<<30 {
		panic(fmt.Sprintf("no gather for %v", need))
	}
	// Alternatively, 128-bit halves: slots 0-1 from half h0 of group 0 and
	// slots 2-3 from half h1 of group 1, by VINSERTI128 (latency 1) or
	// VSHUFI64X2 (3). Taken when no costlier than VPERMI2Q.
	if hb, hg, hc, h0, h1 := searchHalves(srcs, cands); hc <= bestCost+*halfBias {
		for t := range 4 {
			emitDerived(srcs, hb[t].r)
		}
		var gr [2]int
		var gl [2][4]int
		for grp := range 2 {
			var choice [4]int
			for i := range choice {
				choice[i] = -1
			}
			for t := range 4 {
				if hg[t] == grp {
					choice[hb[t].s] = hb[t].r
				}
			}
			gr[grp], gl[grp] = groupVec(srcs, choice)
		}
		for t := range 4 {
			got[t] = gl[hg[t]][hb[t].s]
		}
		if h0 == 0 && h1 == 0 {
			op("perm", "VINSERTI32X4 $1, %s, %s, %s", x(gr[1]), y(gr[0]), y(dst))
		} else {
			op("perm", "VSHUFI64X2 $%d, %s, %s, %s", h0|h1<<1, y(gr[1]), y(gr[0]), y(dst))
		}
		return dst
	}
	for t := range 4 {
		emitDerived(srcs, best[t].r)
	}
	var groupReg [2]int
	var groupLanes [2][4]int
	for grp := range 2 {
		var choice [4]int
		n := 0
		for i := range 4 {
			choice[i] = -1
		}
		for t := range 4 {
			if bestGroup[t] == grp {
				choice[best[t].s] = best[t].r
				n++
			}
		}
		first := -1
		for _, c := range choice {
			if c >= 0 {
				first = c
				break
			}
		}
		if n == 0 {
			groupReg[grp] = -1
			continue
		}
		for i := range choice {
			if choice[i] < 0 {
				choice[i] = first
			}
		}
		single := true
		for _, c := range choice {
			single = single && c == first
		}
		if single {
			groupReg[grp] = srcs[first].reg
			groupLanes[grp] = srcs[first].lanes
			continue
		}
		t := tmp()
		groupReg[grp], groupLanes[grp] = blend(srcs, choice, t)
	}
	if groupReg[1] < 0 || groupReg[0] < 0 {
		g := 0
		if groupReg[0] < 0 {
			g = 1
		}
		imm := 0
		for t := range 4 {
			imm |= best[t].s << (2 * t)
			got[t] = groupLanes[g][best[t].s]
		}
		permute1(imm, groupReg[g], dst)
		return dst
	}
	// Two sources: VALIGNQ (latency 3) if the lanes are a window of the
	// two concatenated, else VPERMI2Q with an index vector.
	for lo := range 2 {
		for k := 1; k < 4; k++ {
			ok := true
			for t := range 4 {
				g, sl := lo, t+k
				if sl >= 4 {
					g, sl = 1-lo, sl-4
				}
				if bestGroup[t] != g || best[t].s != sl {
					ok = false
				}
			}
			if ok {
				for t := range 4 {
					got[t] = groupLanes[bestGroup[t]][best[t].s]
				}
				// Go order: low half of the concatenation first.
				op("perm", "VALIGNQ $%d, %s, %s, %s", k, y(groupReg[lo]), y(groupReg[1-lo]), y(dst))
				return dst
			}
		}
	}
	var idx [4]uint64
	for t := range 4 {
		idx[t] = uint64(4*bestGroup[t] + best[t].s)
		got[t] = groupLanes[bestGroup[t]][best[t].s]
	}
	off := table("keccakIdx<>", idx[:]...)
	op("load", "VMOVDQU64 keccakIdx<>+%d(SB), %s", off, y(dst))
	op("perm", "VPERMI2Q %s, %s, %s", y(groupReg[1]), y(groupReg[0]), y(dst))
	return dst
}

// searchHalves is search for gathers of two 128-bit halves.
func searchHalves(srcs []src, cands [][]pick) (best [4]pick, group [4]int, cost, h0, h1 int) {
	cost = 1 << 30
	for a := range 2 {
		for b := range 2 {
			var ch [4]pick
			g := [4]int{0, 0, 1, 1}
			var rec func(t int)
			rec = func(t int) {
				if t == 4 {
					c := 0
					derived := map[int]bool{}
					for grp := range 2 {
						regs := map[int]bool{}
						for i := range 4 {
							if g[i] == grp {
								regs[ch[i].r] = true
							}
							if srcs[ch[i].r].reg < 0 {
								derived[ch[i].r] = true
							}
						}
						c += len(regs) - 1
					}
					c += len(derived)
					if c < cost {
						best, group, cost, h0, h1 = ch, g, c, a, b
					}
					return
				}
				want := 2*a + t
				if t >= 2 {
					want = 2*b + t - 2
				}
				for _, c := range cands[t] {
					if c.s == want {
						ch[t] = c
						rec(t + 1)
					}
				}
			}
			rec(0)
		}
	}
	return
}

// groupVec returns a register holding, in each slot with choice >= 0, that
// slot of srcs[choice], blending when the slots come from several sources.
func groupVec(srcs []src, choice [4]int) (int, [4]int) {
	first := -1
	for _, c := range choice {
		if c >= 0 {
			first = c
			break
		}
	}
	single := true
	for i := range choice {
		if choice[i] < 0 {
			choice[i] = first
		}
		single = single && choice[i] == first
	}
	if single {
		return srcs[first].reg, srcs[first].lanes
	}
	return blend(srcs, choice, tmp())
}

// permute1 emits dst = src with slot t taken from slot imm>>2t&3, choosing
// the instruction with the lowest latency.
func permute1(imm, src, dst int) {
	sel := func(t int) int { return imm >> (2 * t) & 3 }
	if imm == 0 {
		op("perm", "VPBROADCASTQ %s, %s", x(src), y(dst))
		return
	}
	if imm == 0x55 && *bcast1 {
		// Slot 1 everywhere: in-lane swap, then broadcast (latency 2).
		t := tmp()
		op("shuf", "VPSHUFD $0xee, %s, %s", y(src), y(t))
		op("perm", "VPBROADCASTQ %s, %s", x(t), y(dst))
		return
	}
	if sel(0) < 2 && sel(1) < 2 && sel(2) == sel(0)+2 && sel(3) == sel(1)+2 {
		d := 2*sel(0) | (2*sel(0)+1)<<2 | (2*sel(1))<<4 | (2*sel(1)+1)<<6
		op("shuf", "VPSHUFD $0x%02x, %s, %s", d, y(src), y(dst))
		return
	}
	for k := 1; k < 4; k++ {
		if sel(0) == k && sel(1) == (k+1)%4 && sel(2) == (k+2)%4 && sel(3) == (k+3)%4 {
			op("perm", "VALIGNQ $%d, %s, %s, %s", k, y(src), y(src), y(dst))
			return
		}
	}
	op("perm", "VPERMQ $0x%02x, %s, %s", imm, y(src), y(dst))
}

// search finds the cheapest assignment of target slots to candidates and
// groups for gather.
func search(srcs []src, cands [][]pick) (best [4]pick, bestGroup [4]int, bestCost int) {
	key := fmt.Sprint(cands)
	for _, s := range srcs {
		key += fmt.Sprint(s.lanes, s.reg < 0)
	}
	if m, ok := searchMemo[key]; ok {
		return m.best, m.group, m.cost
	}
	bestCost = 1 << 30
	var ch [4]pick
	var g [4]int
	cost := func(n int) int {
		c := 0
		derived := map[int]bool{}
		for grp := range 2 {
			regs := map[int]bool{}
			for i := range n {
				if g[i] == grp {
					regs[ch[i].r] = true
				}
				if srcs[ch[i].r].reg < 0 {
					derived[ch[i].r] = true
				}
			}
			if len(regs) > 1 {
				c += len(regs) - 1
			}
		}
		return c + len(derived)
	}
	var rec func(t int)
	rec = func(t int) {
		if cost(t) >= bestCost {
			return
		}
		if t == 4 {
			best, bestGroup, bestCost = ch, g, cost(4)
			return
		}
		for _, c := range cands[t] {
			for grp := range 2 {
				ok := true
				for i := range t {
					if g[i] == grp && ch[i].s == c.s && ch[i].r != c.r {
						ok = false
						break
					}
				}
				if !ok {
					continue
				}
				ch[t], g[t] = c, grp
				rec(t + 1)
			}
		}
	}
	rec(0)
	if len(searchMemo) > 1<<16 {
		clear(searchMemo)
	}
	searchMemo[key] = memo{best, bestGroup, bestCost}
	return
}

type memo struct {
	best  [4]pick
	group [4]int
	cost  int
}

var searchMemo = map[string]memo{}

// blend emits dst = slot t from srcs[choice[t]] and returns the lanes.
func blend(srcs []src, choice [4]int, dst int) (int, [4]int) {
	var got [4]int
	for t, c := range choice {
		got[t] = srcs[c].lanes[t]
	}
	if r, ok := blendMemo[got]; ok {
		return r, got
	}
	for _, c := range choice {
		emitDerived(srcs, c)
	}
	base := choice[0]
	cur := srcs[base].reg
	content := srcs[base].lanes
	for i := 0; i < len(srcs); i++ {
		if i == base {
			continue
		}
		m := 0
		for t, c := range choice {
			if c == i {
				m |= 1 << t
				content[t] = srcs[i].lanes[t]
			}
		}
		if m == 0 {
			continue
		}
		// Intermediate blends are shared too.
		if r, ok := blendMemo[content]; ok {
			cur = r
			continue
		}
		d := tmp()
		if content == got {
			d = dst
		}
		op("blend", "VPBLENDMQ %s, %s, %s, %s", y(srcs[i].reg), y(cur), kmask(m), y(d))
		cur = d
		blendMemo[content] = cur
	}
	return cur, got
}

// blendMemo maps the lanes of each blend emitted in the current chi to its
// register, so that gathers share blends.
var blendMemo = map[[4]int]int{}

// derivedMemo does the same for in-lane shuffles.
var derivedMemo = map[string]int{}

const chiImm = 0xd2 // a ^ (^b & c), a the destination (Intel's first source)

// round emits one round from registers in[] to out[] (index as layout).
func round(in, out [7]int, rcOff int, layout, next [7][4]int) {
	// Theta. C[1..4] in c.
	c := tmp()
	op("move", "VMOVDQA64 %s, %s", y(in[1]), y(c))
	op("logic", "VPTERNLOGQ $0x96, %s, %s, %s", y(in[4]), y(in[3]), y(c))
	op("logic", "VPTERNLOGQ $0x96, %s, %s, %s", y(in[6]), y(in[5]), y(c))
	// C[0] in every slot of c0: R20 XOR its three rotations, XOR A[0][0].
	h1, h2, c0 := tmp(), tmp(), tmp()
	if *c0Variant == 1 {
		// Pairs first (in-lane), then the two halves: one shuffle less,
		// one cycle more.
		op("shuf", "VPSHUFD $0x4e, %s, %s", y(in[2]), y(h1))
		op("logic", "VPXORQ %s, %s, %s", y(in[2]), y(h1), y(h1))
		op("perm", "VALIGNQ $2, %s, %s, %s", y(h1), y(h1), y(c0))
		op("logic", "VPTERNLOGQ $0x96, %s, %s, %s", y(in[0]), y(h1), y(c0))
	} else {
		op("shuf", "VPSHUFD $0x4e, %s, %s", y(in[2]), y(h1))            // slot i^1
		op("perm", "VPERMQ $0x1b, %s, %s", y(in[2]), y(h2))             // slot 3-i = i^3
		op("perm", "VALIGNQ $2, %s, %s, %s", y(in[2]), y(in[2]), y(c0)) // slot i^2
		op("logic", "VPTERNLOGQ $0x96, %s, %s, %s", y(in[2]), y(h1), y(c0))
		op("logic", "VPTERNLOGQ $0x96, %s, %s, %s", y(in[0]), y(h2), y(c0))
	}
	rc1, rc0 := tmp(), tmp()
	dx, dy, d0 := tmp(), tmp(), tmp()
	if *thetaVariant == 1 {
		// dx = C[0] C[1] C[2] C[3] and dy = rot(C[2] C[3] C[4] C[0]) as
		// windows of C and C[0] concatenated (Go order: low half first).
		op("rot", "VPROLQ $1, %s, %s", y(c), y(rc1))
		op("perm", "VALIGNQ $3, %s, %s, %s", y(c0), y(c), y(dx))
		op("perm", "VALIGNQ $1, %s, %s, %s", y(c), y(c0), y(dy))
		op("rot", "VPROLQ $1, %s, %s", y(dy), y(dy))
		// D[0] = C[4] ^ rot(C[1]) sits in slot 0 of C[4] C[1] C[2] C[3]
		// ^ rot(C); broadcast it.
		op("perm", "VALIGNQ $3, %s, %s, %s", y(c), y(c), y(d0))
		op("logic", "VPXORQ %s, %s, %s", y(rc1), y(d0), y(d0))
		op("perm", "VPBROADCASTQ %s, %s", x(d0), y(d0))
	} else {
		op("rot", "VPROLQ $1, %s, %s", y(c), y(rc1))
		op("rot", "VPROLQ $1, %s, %s", y(c0), y(rc0))
		// dx = C[0] C[1] C[2] C[3]; dy = rot(C[2] C[3] C[4] C[0]).
		op("perm", "VALIGNQ $3, %s, %s, %s", y(c), y(c), y(dx)) // C[4] C[1] C[2] C[3]
		// D[0] = C[4] ^ rot(C[1]) sits in slot 0 of dx ^ rot(C); broadcast it.
		op("logic", "VPXORQ %s, %s, %s", y(rc1), y(dx), y(d0))
		op("perm", "VPBROADCASTQ %s, %s", x(d0), y(d0))
		op("blend", "VPBLENDMQ %s, %s, %s, %s", y(c0), y(dx), kmask(0x1), y(dx))
		op("perm", "VALIGNQ $1, %s, %s, %s", y(rc1), y(rc1), y(dy))
		op("blend", "VPBLENDMQ %s, %s, %s, %s", y(rc0), y(dy), kmask(0x8), y(dy))
	}
	rhoVec := func(r, extra int) int {
		var v [4]uint64
		for s, l := range layout[r] {
			v[s] = uint64((rho[l%5][l/5] + extra) % 64)
		}
		return table("keccakRho<>", v[:]...)
	}
	if *thetaVariant == 2 {
		// rot(R ^ dx ^ rot(dy', 1), rho) = rot(R ^ dx, rho) ^ rot(dy', rho+1),
		// with dy' = C[2] C[3] C[4] C[0] unrotated: the second rotation
		// starts without waiting for dx.
		dyp := tmp()
		op("perm", "VALIGNQ $1, %s, %s, %s", y(c), y(c), y(dyp))
		op("blend", "VPBLENDMQ %s, %s, %s, %s", y(c0), y(dyp), kmask(0x8), y(dyp))
		for _, r := range colRegs {
			e := tmp()
			op("rot", "VPROLVQ keccakRho<>+%d(SB), %s, %s", rhoVec(r, 1), y(dyp), y(e))
			op("logic", "VPXORQ %s, %s, %s", y(dx), y(in[r]), y(in[r]))
			op("rot", "VPROLVQ keccakRho<>+%d(SB), %s, %s", rhoVec(r, 0), y(in[r]), y(in[r]))
			op("logic", "VPXORQ %s, %s, %s", y(e), y(in[r]), y(in[r]))
		}
		for _, r := range []int{0, 2} {
			op("logic", "VPXORQ %s, %s, %s", y(d0), y(in[r]), y(in[r]))
		}
		op("rot", "VPROLVQ keccakRho<>+%d(SB), %s, %s", rhoVec(2, 0), y(in[2]), y(in[2]))
	} else {
		for _, r := range colRegs {
			op("logic", "VPTERNLOGQ $0x96, %s, %s, %s", y(dy), y(dx), y(in[r]))
		}
		for _, r := range []int{0, 2} {
			op("logic", "VPXORQ %s, %s, %s", y(d0), y(in[r]), y(in[r]))
		}
		// Rho.
		for r := 1; r < 7; r++ {
			op("rot", "VPROLVQ keccakRho<>+%d(SB), %s, %s", rhoVec(r, 0), y(in[r]), y(in[r]))
		}
	}
	if *debugPhase == "nochi" {
		for r := range 7 {
			op("logic", "VPXORQ %s, %s, %s", y(in[r]), y(in[(r+1)%7]), y(out[r]))
		}
		return
	}
	// Pi and chi. New lane (X, Y) is old lane (X+3Y, X).
	clear(blendMemo)
	clear(derivedMemo)
	srcs := make([]src, 7)
	for r := range 7 {
		srcs[r] = src{reg: in[r], lanes: layout[r]}
	}
	old := func(X, Y int) int { return lane(mod5(X+3*Y), mod5(X)) }
	// R20 and R00 first: the next theta's longest path starts from them.
	for _, r := range []int{2, 0, 1, 3, 4, 5, 6} {
		var ops [3]int
		for k := 2; k >= 0; k-- {
			var need [4]int
			for s, l := range next[r] {
				need[s] = old(l%5+k, l/5)
			}
			switch {
			case k == 0 && r == 0:
				// Iota goes into chi's own-lane operand of A[0][0],
				// which is R00 itself (pi and rho leave it alone).
				op("logic", "VPXORQ %d(SI), %s, %s", rcOff, y(in[0]), y(out[0]))
			case k == 0:
				ops[k] = gather(srcs, need, out[r])
			default:
				ops[k] = gather(srcs, need, -1)
			}
		}
		op("logic", "VPTERNLOGQ $0x%02x, %s, %s, %s", chiImm, y(ops[2]), y(ops[1]), y(out[r]))
	}
}

func main() {
	// -iters and -o only serve debugging: fewer rounds, another file.
	iters := flag.Int("iters", 0, "loop iterations, if not 24/unroll")
	unrollFlag := flag.Int("unroll", 2, "rounds per loop iteration; even, dividing 24")
	outFile := flag.String("o", "permute_amd64.s", "output file")
	searchIters := flag.Int("search", 0, "search layouts with this many steps per restart")
	flag.Parse()
	schedRand = rand.New(rand.NewPCG(*schedSeed, 0))
	if *origLayout {
		layouts = [][7][4]int{layout}
	}
	if *layoutFlag != "" {
		layouts = nil
		for _, part := range strings.Split(*layoutFlag, "/") {
			var l [7][4]int
			f := strings.Fields(part)
			if len(f) != 28 {
				log.Fatalf("-layouts: want 28 numbers per layout")
			}
			for i, w := range f {
				fmt.Sscan(w, &l[i/4][i%4])
			}
			layouts = append(layouts, l)
		}
	}
	for _, l := range layouts {
		checkLayout(l)
	}
	if *searchIters > 0 {
		if *restarts > 0 {
			searchRestarts = *restarts
		}
		searchLayouts(*searchIters)
		return
	}
	unroll := *unrollFlag
	if *iters == 0 {
		*iters = 24 / unroll
	} else if *iters < 0 {
		*iters = 0
	}
	setA := [7]int{0, 1, 2, 3, 4, 5, 6}
	setB := [7]int{7, 8, 9, 10, 11, 12, 13}

	// The loop body: rounds from set B to set A and back. With -peel (the
	// default) the first and last rounds run outside the loop, converting
	// from and to the row layout, which loads and stores whole rows.
	entry := layouts[0]
	if *peel {
		entry = rowLayout
		if *iters == 24/unroll {
			*iters = 22 / unroll
		}
	}
	emitRound := func(in, o [7]int, rcOff int, from, to [7][4]int) {
		count = map[string]int{}
		round(in, o, rcOff, from, to)
		flush(in, o)
	}
	var pre, body, post bytes.Buffer
	var perRound map[string]int
	{
		saved := out
		if *peel {
			out = bytes.Buffer{}
			fmt.Fprintf(&out, "\n\t// Round 0: row layout to the loop's.\n")
			emitRound(setA, setB, 0, rowLayout, layouts[0])
			pre = out
		}
		out = bytes.Buffer{}
		for i := range unroll {
			in, o := setB, setA
			if i%2 == 1 {
				in, o = setA, setB
			}
			if !*peel {
				in, o = o, in
			}
			fmt.Fprintf(&out, "\n\t// Round %d of the iteration.\n", i)
			emitRound(in, o, 32*i, layouts[i%len(layouts)], layouts[(i+1)%len(layouts)])
			perRound = count
		}
		body = out
		if *peel {
			out = bytes.Buffer{}
			fmt.Fprintf(&out, "\n\t// Round 23: back to the row layout.\n")
			emitRound(setB, setA, 0, layouts[0], rowLayout)
			post = out
		}
		out = saved
	}
	total := 0
	var classes []string
	for k, n := range perRound {
		total += n
		classes = append(classes, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(classes)

	fmt.Fprintf(&out, "// Code generated by genasm.go. DO NOT EDIT.\n\n")
	fmt.Fprintf(&out, "//go:build amd64 && !purego\n\n")
	fmt.Fprintf(&out, "// Per round in the loop: %d instructions: %v.\n\n", total, classes)
	fmt.Fprintf(&out, "#include \"textflag.h\"\n\n")
	fmt.Fprintf(&out, "// func permuteAsm(a *[25]uint64)\n")
	fmt.Fprintf(&out, "TEXT ·permuteAsm(SB), NOSPLIT, $0-8\n")
	p("MOVQ a+0(FP), DI")
	type km struct{ m, k int }
	var ks []km
	for m, k := range masks {
		ks = append(ks, km{m, k})
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].k < ks[j].k })
	for _, e := range ks {
		p("MOVQ $0x%02x, AX", e.m)
		p("KMOVW AX, K%d", e.k)
	}
	loadLayout(entry)
	p("LEAQ keccakRC<>(SB), SI")
	if *peel {
		out.Write(pre.Bytes())
		p("ADDQ $32, SI")
	}
	p("MOVQ $%d, CX", *iters)
	if *iters == 0 {
		p("JMP done")
	}
	fmt.Fprintf(&out, "\nloop:")
	out.Write(body.Bytes())
	p("ADDQ $%d, SI", 32*unroll)
	p("DECQ CX")
	p("JNZ loop")
	fmt.Fprintf(&out, "\ndone:\n")
	if *peel {
		out.Write(post.Bytes())
	}
	storeLayout(entry)
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(&out)

	for _, c := range rc {
		// Not table(): rounds 6 and 20 share a constant.
		data["keccakRC<>"] = append(data["keccakRC<>"], c, c, c, c)
	}
	for _, sym := range []string{"keccakRC<>", "keccakRho<>", "keccakIdx<>"} {
		for i, w := range data[sym] {
			fmt.Fprintf(&out, "DATA %s+%d(SB)/8, $0x%016x\n", sym, 8*i, w)
		}
		fmt.Fprintf(&out, "GLOBL %s(SB), RODATA|NOPTR, $%d\n\n", sym, 8*len(data[sym]))
	}
	if err := os.WriteFile(*outFile, out.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

// rowLayout holds rows 0-4 in registers 1, 3, 4, 5, 6 (columns 1-4, so a
// whole register loads and stores at once) and column 0 in R20: the layout
// of the first round's input and the last round's output with -peel.
var rowLayout = [7][4]int{
	{0, 0, 0, 0},
	{1, 2, 3, 4},
	{5, 10, 15, 20},
	{6, 7, 8, 9},
	{11, 12, 13, 14},
	{16, 17, 18, 19},
	{21, 22, 23, 24},
}

var peel = flag.Bool("peel", true, "run the first and last rounds outside the loop, from and to rowLayout")

// loadLayout loads a into Y0-Y6 in layout l.
func loadLayout(l [7][4]int) {
	p("VPBROADCASTQ (DI), Y0")
	for r := 1; r < 7; r++ {
		ls := l[r]
		if ls[1] == ls[0]+1 && ls[2] == ls[0]+2 && ls[3] == ls[0]+3 {
			p("VMOVDQU %d(DI), Y%d", 8*ls[0], r)
			continue
		}
		p("VMOVQ %d(DI), X%d", 8*ls[0], r)
		p("VPINSRQ $1, %d(DI), X%d, X%d", 8*ls[1], r, r)
		p("VMOVQ %d(DI), X14", 8*ls[2])
		p("VPINSRQ $1, %d(DI), X14, X14", 8*ls[3])
		p("VINSERTI128 $1, X14, Y%d, Y%d", r, r)
	}
}

// storeLayout stores Y0-Y6, in layout l, to a.
func storeLayout(l [7][4]int) {
	p("VMOVQ X0, (DI)")
	for r := 1; r < 7; r++ {
		ls := l[r]
		if ls[1] == ls[0]+1 && ls[2] == ls[0]+2 && ls[3] == ls[0]+3 {
			p("VMOVDQU Y%d, %d(DI)", r, 8*ls[0])
			continue
		}
		p("VMOVQ X%d, %d(DI)", r, 8*ls[0])
		p("VPEXTRQ $1, X%d, %d(DI)", r, 8*ls[1])
		p("VEXTRACTI128 $1, Y%d, X14", r)
		p("VMOVQ X14, %d(DI)", 8*ls[2])
		p("VPEXTRQ $1, X14, %d(DI)", 8*ls[3])
	}
}

// pending holds the current round's instructions with virtual registers.
var pending []string

// The list scheduler's machine model and priority jitter; main's defaults
// are the values measured fastest on Zen 4 (see the header comment).
var layoutFlag = flag.String("layouts", "", "layouts, 28 lane numbers each, separated by /")

var origLayout = flag.Bool("jagged", true, "use the plain jagged layout every round")

var halfBias = flag.Int("halfbias", 0, "extra instructions a lower-latency halves gather may cost")

var verbose = flag.Bool("v", false, "report rejected layouts")

var bcast1 = flag.Bool("bcast1", false, "broadcast slot 1 by VPSHUFD and VPBROADCASTQ")

var c0Variant = flag.Int("c0", 0, "theta's C[0]: 0 three shuffles, 1 two")

var thetaVariant = flag.Int("theta", 0, "theta's D: 0 blends, 1 windows")

var (
	schedSeed   = flag.Uint64("seed", 0, "scheduler jitter seed")
	schedJitter = flag.Int("jitter", 0, "scheduler priority jitter")
	schedALU    = flag.Int("alu", 4, "vector instructions per cycle in the schedule model")
	schedShuf   = flag.Int("shuf", 2, "shuffles per cycle in the schedule model")
	schedRand   *rand.Rand
)

// debugPhase leaves out a phase, for timing experiments only.
var debugPhase = flag.String("debug", "", "timing experiment: nochi")

var (
	_         = 0
	operandRE = regexp.MustCompile(`«([XY])(\d+)»`)
	latency   = map[string]int{
		"VPTERNLOGQ": 1, "VPXORQ": 1, "VPBLENDMQ": 1, "VMOVDQA64": 0,
		"VPERMQ": 4, "VPERMI2Q": 4, "VALIGNQ": 3, "VPROLQ": 2, "VPROLVQ": 2,
		"VPSHUFD": 1, "VPUNPCKLQDQ": 1, "VPUNPCKHQDQ": 1, "VPBROADCASTQ": 1,
		"VMOVDQU64": 0, "VPANDNQ": 1, "VINSERTI32X4": 1, "VSHUFI64X2": 3,
	}
	// shuffle marks instructions that only two of Zen 4's four vector
	// pipes execute (shuffles and rotates).
	shuffle = map[string]bool{
		"VPERMQ": true, "VPERMI2Q": true, "VALIGNQ": true, "VPROLQ": true,
		"VPROLVQ": true, "VPSHUFD": true, "VPUNPCKLQDQ": true,
		"VPUNPCKHQDQ": true, "VPBROADCASTQ": true, "VINSERTI32X4": true,
		"VSHUFI64X2": true,
	}
	// destructive instructions read their destination too.
	destructive = map[string]bool{"VPTERNLOGQ": true, "VPERMI2Q": true}
)

// inst is one instruction in SSA form: values are numbered per round.
type inst struct {
	mn       string
	text     string // operands replaced by %s, in order
	opnds    []int  // values of the operands, in order; the last is dst
	xform    []bool // operand printed as X rather than Y
	dst      int    // value written
	srcs     []int  // values read (for a destructive op, tied is srcs[0])
	tied     int    // value whose register dst must reuse, or -1
	lat      int
	deps     []int // instructions producing srcs
	users    []int
	height   int
	order    int
	isLoad   bool
	physHint int
}

// flush schedules the pending round, in registers in[] to out[], and
// writes it to out.
func flush(in, outRegs [7]int) (cycles int) {
	// Values: 0-13 stand for the round's inputs (the state registers);
	// each write makes a new value.
	cur := map[int]int{} // virtual register -> current value
	nval := 0
	valPhys := map[int]int{}
	for _, r := range in {
		cur[r] = nval
		valPhys[nval] = r
		nval++
	}
	producer := map[int]int{}
	var insts []*inst
	for _, t := range pending {
		mn := strings.Fields(t)[0]
		ms := operandRE.FindAllStringSubmatch(t, -1)
		in := &inst{mn: mn, text: operandRE.ReplaceAllString(t, "%s"), tied: -1, physHint: -1}
		lat, ok := latency[mn]
		if !ok {
			log.Fatalf("no latency for %s", mn)
		}
		in.lat = lat
		in.isLoad = mn == "VMOVDQU64"
		n := len(ms)
		for i, m := range ms {
			var r int
			fmt.Sscan(m[2], &r)
			in.xform = append(in.xform, m[1] == "X")
			if i < n-1 {
				v, ok := cur[r]
				if !ok {
					log.Fatalf("%q reads unwritten register %d", t, r)
				}
				in.opnds = append(in.opnds, v)
				in.srcs = append(in.srcs, v)
				continue
			}
			if destructive[mn] {
				v, ok := cur[r]
				if !ok {
					log.Fatalf("%q reads unwritten register %d", t, r)
				}
				in.tied = v
				in.srcs = append([]int{v}, in.srcs...)
			}
			in.dst = nval
			cur[r] = nval
			nval++
			in.opnds = append(in.opnds, in.dst)
		}
		idx := len(insts)
		producer[in.dst] = idx
		in.order = idx
		for _, v := range in.srcs {
			if p, ok := producer[v]; ok {
				in.deps = append(in.deps, p)
				insts[p].users = append(insts[p].users, idx)
			}
		}
		insts = append(insts, in)
	}
	pending = nil
	// The round's results must end in the output registers.
	for _, r := range outRegs {
		v := cur[r]
		i := producer[v]
		// Follow tied chains back so that the whole chain lives in r.
		for {
			insts[i].physHint = r
			t := insts[i].tied
			if t < 0 {
				break
			}
			j, ok := producer[t]
			if !ok || len(insts[j].users) != 1 {
				break
			}
			i = j
		}
	}
	// Heights: the longest latency path to the end of the round, plus a
	// fixed pseudo-random jitter per instruction (see -seed).
	for i := len(insts) - 1; i >= 0; i-- {
		h := 0
		for _, u := range insts[i].users {
			h = max(h, insts[u].height)
		}
		insts[i].height = h + insts[i].lat
	}
	for _, in := range insts {
		if *schedJitter > 0 {
			in.height += schedRand.IntN(*schedJitter + 1)
		}
	}
	// List scheduling on a model of four vector pipes, two of which take
	// shuffles and rotates. Loads are placed right before their user.
	done := make([]int, len(insts)) // cycle the result is ready, -1 unscheduled
	for i := range done {
		done[i] = -1
	}
	var sched []int
	remaining := 0
	for i, in := range insts {
		if in.isLoad {
			done[i] = 0
		} else {
			remaining++
		}
	}
	for cycle := 0; remaining > 0; cycle++ {
		var ready []int
		for i, in := range insts {
			if done[i] >= 0 || in.isLoad {
				continue
			}
			ok := true
			for _, d := range in.deps {
				if done[d] < 0 || done[d] > cycle {
					ok = false
					break
				}
			}
			if ok {
				ready = append(ready, i)
			}
		}
		sort.SliceStable(ready, func(a, b int) bool {
			ia, ib := insts[ready[a]], insts[ready[b]]
			if ia.height != ib.height {
				return ia.height > ib.height
			}
			return ia.order < ib.order
		})
		alu, shuf := 0, 0
		for _, i := range ready {
			in := insts[i]
			if in.lat == 0 { // moves: free
				done[i] = cycle
				sched = append(sched, i)
				remaining--
				continue
			}
			if alu == *schedALU || (shuffle[in.mn] && shuf == *schedShuf) {
				continue
			}
			alu++
			if shuffle[in.mn] {
				shuf++
			}
			done[i] = cycle + in.lat
			sched = append(sched, i)
			remaining--
		}
	}
	last := 0
	for _, d := range done {
		last = max(last, d)
	}
	cycles = last
	// Final order: loads just before their first user.
	var order []int
	placed := make([]bool, len(insts))
	for _, i := range sched {
		for _, d := range insts[i].deps {
			if insts[d].isLoad && !placed[d] {
				order = append(order, d)
				placed[d] = true
			}
		}
		order = append(order, i)
		placed[i] = true
	}
	// Register allocation over the final order; if the schedule needs more
	// than 32 registers, fall back to program order.
	mark := out.Len()
	valPhys0 := maps.Clone(valPhys)
	if !allocate(insts, order, in, outRegs, valPhys) {
		out.Truncate(mark)
		valPhys = valPhys0
		order = order[:0]
		for i := range insts {
			order = append(order, i)
		}
		if !allocate(insts, order, in, outRegs, valPhys) {
			panic("out of registers")
		}
	}
	for _, r := range outRegs {
		if valPhys[cur[r]] != r {
			log.Fatalf("round result for register %d ended in Y%d", r, valPhys[cur[r]])
		}
	}
	return cycles
}

// allocate assigns physical registers to the values of insts in order and
// writes the instructions, or reports that 32 registers are not enough.
func allocate(insts []*inst, order []int, in, outRegs [7]int, valPhys map[int]int) (ok bool) {
	defer func() {
		if e := recover(); e != nil {
			if e != "out of registers" {
				panic(e)
			}
			ok = false
		}
	}()
	lastUse := map[int]int{}
	for pos, i := range order {
		for _, v := range insts[i].srcs {
			lastUse[v] = pos
		}
	}
	reserved := map[int]bool{}
	for _, r := range outRegs {
		reserved[r] = true
	}
	busy := map[int]bool{}
	for _, r := range in {
		busy[r] = true
	}
	pick := func(hint int) int {
		if hint >= 0 && !busy[hint] {
			return hint
		}
		for r := range 32 {
			if !busy[r] && !reserved[r] {
				return r
			}
		}
		panic("out of registers")
	}
	for pos, i := range order {
		in := insts[i]
		for _, v := range in.srcs {
			if lastUse[v] == pos {
				busy[valPhys[v]] = false
			}
		}
		var ph int
		if in.tied >= 0 {
			tp := valPhys[in.tied]
			if lastUse[in.tied] == pos && !busy[tp] && (in.physHint < 0 || in.physHint == tp) && (!reserved[tp] || in.physHint == tp) {
				ph = tp
			} else {
				ph = pick(in.physHint)
				p("VMOVDQA64 Y%d, Y%d", tp, ph)
				count["move"]++
			}
		} else {
			ph = pick(in.physHint)
		}
		busy[ph] = true
		valPhys[in.dst] = ph
		args := make([]any, len(in.opnds))
		for k, v := range in.opnds {
			reg := "Y"
			if in.xform[k] {
				reg = "X"
			}
			args[k] = fmt.Sprintf("%s%d", reg, valPhys[v])
		}
		p(in.text, args...)
	}
	return true
}

// evalPair is the weighted instruction count of the rounds l0 -> l1 -> l0,
// used by -search.
func evalPair(l0, l1 [7][4]int) (c float64) {
	defer func() {
		if e := recover(); e != nil {
			if *verbose {
				fmt.Fprintln(os.Stderr, "layout rejected:", e)
			}
			c = 1e9
		}
		pending = nil
	}()
	savedMasks, savedData, savedOff := masks, data, tableOff
	masks, data, tableOff = map[int]int{}, map[string][]uint64{}, map[string]int{}
	defer func() { masks, data, tableOff = savedMasks, savedData, savedOff }()
	count = map[string]int{}
	savedOut := out
	out = bytes.Buffer{}
	defer func() { out = savedOut }()
	a := [7]int{0, 1, 2, 3, 4, 5, 6}
	b := [7]int{7, 8, 9, 10, 11, 12, 13}
	round(a, b, 0, l0, l1)
	cycles := flush(a, b)
	round(b, a, 32, l1, l0)
	cycles += flush(b, a)
	w := map[string]float64{"perm": 0.5, "shuf": 0.4, "blend": 0.25, "logic": 0.25, "rot": 0.5, "load": 0.05, "move": 0.1}
	for k, n := range count {
		c += w[k] * float64(n)
	}
	return c*searchOpWeight + float64(cycles)
}

// mutate swaps the rows of two column registers in one slot, or two slots
// of R20: both keep a valid layout.
func mutate(l [7][4]int, rng *rand.Rand) [7][4]int {
	if rng.IntN(5) == 0 {
		i, j := rng.IntN(4), rng.IntN(4)
		l[2][i], l[2][j] = l[2][j], l[2][i]
		return l
	}
	s := rng.IntN(4)
	i, j := colRegs[rng.IntN(5)], colRegs[rng.IntN(5)]
	l[i][s], l[j][s] = l[j][s], l[i][s]
	return l
}

// searchOpWeight weighs instruction counts against modelled cycles.
var searchOpWeight = 0.5

var (
	searchRestarts = 20
	restarts       = flag.Int("restarts", 0, "search restarts")
)

func searchLayouts(iters int) {
	rng := rand.New(rand.NewPCG(1, uint64(iters)))
	best0, best1 := layouts[0], layouts[len(layouts)-1]
	bestC := evalPair(best0, best1)
	fmt.Fprintf(os.Stderr, "start %.1f\n", bestC)
	for restart := 0; restart < searchRestarts; restart++ {
		c0, c1 := best0, best1
		if restart > 0 {
			for range 30 {
				c0, c1 = mutate(c0, rng), mutate(c1, rng)
			}
		}
		cc := evalPair(c0, c1)
		temp := 3.0
		for it := range iters {
			n0, n1 := c0, c1
			if rng.IntN(2) == 0 {
				n0 = mutate(n0, rng)
			} else {
				n1 = mutate(n1, rng)
			}
			nc := evalPair(n0, n1)
			if *verbose {
				fmt.Fprintf(os.Stderr, "eval %.1f\n", nc)
			}
			if nc <= cc || rng.Float64() < math.Exp((cc-nc)/temp) {
				c0, c1, cc = n0, n1, nc
				if cc < bestC {
					best0, best1, bestC = c0, c1, cc
					fmt.Fprintf(os.Stderr, "restart %d iter %d: %.1f\n", restart, it, bestC)
				}
			}
			temp = 3.0 * (1 - float64(it)/float64(iters))
			if temp < 0.05 {
				temp = 0.05
			}
		}
	}
	fmt.Printf("%.1f\n%#v\n%#v\n", bestC, best0, best1)
}
