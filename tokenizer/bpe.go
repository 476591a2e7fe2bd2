package tokenizer

import (
	"container/heap"
)

// bpe is a byte-level BPE model: a vocabulary and ranked merges.
type bpe struct {
	byteID       [256]int32        // id of the one-byte symbol for each byte
	merges       map[uint64]uint64 // (left id, right id) → rank<<32 | merged id
	wordID       map[string]int32  // raw bytes of a vocabulary symbol → id (for ignore_merges)
	ignoreMerges bool              // a piece that is itself in the vocabulary is one token
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// noMerge is lookup's answer for a pair that does not merge; it sorts after every rank.
const noMerge = ^uint64(0)

// lookup returns rank<<32 | merged id for the pair (a, b), or noMerge.
func (m *bpe) lookup(a, b int32) uint64 {
	if v, ok := m.merges[pairKey(a, b)]; ok {
		return v
	}
	return noMerge
}

// encode appends the ids of one pre-tokenized piece (raw bytes) to dst.
func (m *bpe) encode(dst []int, piece string) []int {
	if len(piece) == 1 {
		return append(dst, int(m.byteID[piece[0]]))
	}
	if m.ignoreMerges {
		if id, ok := m.wordID[piece]; ok {
			return append(dst, int(id))
		}
	}
	if len(piece) > 48 {
		return m.encodeLong(dst, piece)
	}
	// Short pieces: a scan for the lowest-ranked pair, with each pair's merge
	// looked up once and only the two pairs around a merge looked up again.
	var symBuf [48]int32
	var rankBuf [48]uint64 // merges value of pair (i, i+1): rank<<32 | merged id; noMerge if none
	n := len(piece)
	syms, ranks := symBuf[:n], rankBuf[:n]
	for i := 0; i < n; i++ {
		syms[i] = m.byteID[piece[i]]
	}
	for i := 0; i+1 < n; i++ {
		ranks[i] = m.lookup(syms[i], syms[i+1])
	}
	for n > 1 {
		best, bestV := -1, uint64(noMerge)
		for i := 0; i+1 < n; i++ {
			if ranks[i] < bestV {
				best, bestV = i, ranks[i]
			}
		}
		if best < 0 {
			break
		}
		syms[best] = int32(uint32(bestV))
		copy(syms[best+1:n-1], syms[best+2:n])
		if best+2 < n {
			copy(ranks[best+1:], ranks[best+2:n-1])
		}
		n--
		if best+1 < n {
			ranks[best] = m.lookup(syms[best], syms[best+1])
		}
		if best > 0 {
			ranks[best-1] = m.lookup(syms[best-1], syms[best])
		}
	}
	syms = syms[:n]
	for _, id := range syms {
		dst = append(dst, int(id))
	}
	return dst
}

// mergeCandidate is a possible merge of the symbol at pos with its right neighbour.
type mergeCandidate struct {
	rank        uint32
	pos         int32 // index of the left symbol
	left, right int32 // the ids the two symbols had when the candidate was made
	merged      int32
}

type mergeHeap []mergeCandidate

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}
func (h mergeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(mergeCandidate)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// encodeLong is encode for long pieces: the same merge order (lowest rank
// first, leftmost among equals, as Hugging Face's priority queue does) in
// O(n log n) over a linked list of symbols.
func (m *bpe) encodeLong(dst []int, piece string) []int {
	n := len(piece)
	id := make([]int32, n)
	next := make([]int32, n)
	prev := make([]int32, n)
	for i := 0; i < n; i++ {
		id[i] = m.byteID[piece[i]]
		next[i] = int32(i + 1)
		prev[i] = int32(i - 1)
	}
	next[n-1] = -1
	h := make(mergeHeap, 0, n)
	push := func(pos int32) {
		r := next[pos]
		if pos < 0 || r < 0 {
			return
		}
		if v, ok := m.merges[pairKey(id[pos], id[r])]; ok {
			heap.Push(&h, mergeCandidate{rank: uint32(v >> 32), pos: pos, left: id[pos], right: id[r], merged: int32(uint32(v))})
		}
	}
	for i := 0; i+1 < n; i++ {
		if v, ok := m.merges[pairKey(id[i], id[i+1])]; ok {
			h = append(h, mergeCandidate{rank: uint32(v >> 32), pos: int32(i), left: id[i], right: id[i+1], merged: int32(uint32(v))})
		}
	}
	heap.Init(&h)
	for h.Len() > 0 {
		c := heap.Pop(&h).(mergeCandidate)
		r := next[c.pos]
		if id[c.pos] < 0 || r < 0 || id[c.pos] != c.left || id[r] != c.right {
			continue // stale: a symbol changed since this candidate was made
		}
		id[c.pos] = c.merged
		id[r] = -1
		next[c.pos] = next[r]
		if nr := next[r]; nr >= 0 {
			prev[nr] = c.pos
		}
		if p := prev[c.pos]; p >= 0 {
			push(p)
		}
		push(c.pos)
	}
	for i := int32(0); i >= 0; i = next[i] {
		dst = append(dst, int(id[i]))
	}
	return dst
}
