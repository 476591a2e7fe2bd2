package types

// EstimateDatumBytes estimates the wire size of d the way the SDK does when
// chunking forward_backward requests: 4 bytes per text token; the raw byte
// length of image and dmel chunks; the length of an image pointer's
// location; each tensor's value bytes (8 per int64, 4 per float32) plus 8
// bytes per sparse crow/col index.
func EstimateDatumBytes(d Datum) int {
	n := 0
	for _, c := range d.ModelInput.Chunks {
		switch c := derefChunk(c).(type) {
		case EncodedTextChunk:
			n += 4 * len(c.Tokens)
		case ImageChunk:
			n += len(c.Data)
		case ImageAssetPointerChunk:
			n += len(c.Location)
		case DmelChunk:
			n += len(c.Dmel)
		}
	}
	for _, t := range d.LossFnInputs {
		switch t.DType {
		case DTypeInt64:
			n += 8 * len(t.Int64s)
		case DTypeFloat32:
			n += 4 * len(t.Float32s)
		}
		n += 8 * (len(t.SparseCrowIndices) + len(t.SparseColIndices))
	}
	return n
}

// ChunkData splits data into forward_backward chunks, in order. A new chunk
// starts when the current one already holds maxLen datums, or when adding the
// next datum would take its estimated bytes (EstimateDatumBytes) above
// maxBytes. Every chunk holds at least one datum, so a single datum larger
// than maxBytes gets a chunk of its own. maxLen or maxBytes <= 0 means no
// limit of that kind. The chunks share data's backing array (capacity-capped,
// so appending to one cannot overwrite the next). Empty data gives nil.
func ChunkData(data []Datum, maxLen, maxBytes int) [][]Datum {
	var chunks [][]Datum
	start, bytes := 0, 0
	for i, d := range data {
		est := EstimateDatumBytes(d)
		count := i - start
		if count > 0 && ((maxLen > 0 && count >= maxLen) || (maxBytes > 0 && bytes+est > maxBytes)) {
			chunks = append(chunks, data[start:i:i])
			start, bytes = i, 0
		}
		bytes += est
	}
	if start < len(data) {
		chunks = append(chunks, data[start:len(data):len(data)])
	}
	return chunks
}
