// Package score scores rows with gradient-boosted tree models trained outside millrace
// (XGBoost or LightGBM), through github.com/dmitryikh/leaves, over whole batches.
//
// A Model is read from the bytes of a model file. Kind xgboost takes the binary format that
// XGBoost's save_model writes to a file whose name does not end in .json or .ubj: leaves
// reads the layout of XGBoost before 1.0, and Parse turns a file of a later XGBoost (1.x,
// which starts with "binf", stores base_score as a probability and leaves
// num_output_group at 0) into that layout first. Kind lightgbm takes LightGBM's text format.
// A binary classifier (XGBoost's binary:logistic, LightGBM's binary) scores the probability
// of the positive class; a regression model scores its raw value.
//
// XGBoost compares features as float32 and sends a value equal to a split's threshold right
// (value < threshold), where leaves sends it left (value <= threshold, LightGBM's rule).
// Scorer rounds every feature to float32 before it predicts, and Parse lowers each
// threshold of an XGBoost model to the float32 just below it, so that every row goes the
// way XGBoost sends it: scores equal XGBoost's own to float rounding (about 1e-7). A null
// feature is missing (NaN), which goes the way the tree learned for missing values.
package score

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/dmitryikh/leaves"
)

// Kind names the framework a model file comes from.
type Kind string

// The kinds of model.
const (
	XGBoost  Kind = "xgboost"
	LightGBM Kind = "lightgbm"
)

// Model is a loaded tree ensemble.
type Model struct {
	ens *leaves.Ensemble
}

// Parse loads a model of kind from the bytes of its file.
func Parse(data []byte, kind Kind) (*Model, error) {
	var ens *leaves.Ensemble
	var err error
	switch kind {
	case XGBoost:
		data, err = legacyXGBoost(data)
		if err != nil {
			return nil, err
		}
		ens, err = leaves.XGEnsembleFromReader(bufio.NewReader(bytes.NewReader(data)), true)
	case LightGBM:
		ens, err = leaves.LGEnsembleFromReader(bufio.NewReader(bytes.NewReader(data)), true)
	default:
		return nil, fmt.Errorf("model kind %q is not xgboost or lightgbm", kind)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s model: %w", kind, err)
	}
	if ens.NOutputGroups() != 1 {
		return nil, fmt.Errorf("the %s model has %d outputs per row; millrace scores with models of one (binary classification or regression)", kind, ens.NOutputGroups())
	}
	return &Model{ens: ens}, nil
}

// Features is how many features the model reads: the highest feature index it splits on,
// plus one.
func (m *Model) Features() int { return m.ens.NFeatures() }

// Trees is the number of trees of the model.
func (m *Model) Trees() int { return m.ens.NEstimators() }

// Predict scores rows rows of cols features each, stored row by row in vals, into out.
func (m *Model) Predict(vals []float64, rows, cols int, out []float64) error {
	if rows == 0 {
		return nil
	}
	return m.ens.PredictDense(vals, rows, cols, out, 0, 1)
}

// Layout of the binary model file of XGBoost (learner.cc, gbtree_model.h, tree_model.cc).
const (
	learnerParamSize = 136 // LearnerModelParam: base_score, num_feature, num_class, ... reserved
	numTreesAt       = 0   // offsets in GBTreeModelParam
	outputGroupAt    = 24
	gbtreeParamSize  = 160
	treeParamSize    = 148 // TreeParam: num_roots, num_nodes, num_deleted, ..., size_leaf_vector at 20
	nodeSize         = 20  // Node: parent, cleft, cright, sindex, info (split threshold or leaf value)
	nodeStatSize     = 16
)

// ErrNotXGBoost says bytes are not an XGBoost binary model.
var ErrNotXGBoost = errors.New("not an XGBoost binary model (save it with save_model to a file whose name does not end in .json or .ubj)")

// legacyXGBoost returns a copy of an XGBoost binary model in the form leaves reads right.
// leaves reads the layout of XGBoost before 1.0; a file of a later XGBoost starts with
// "binf", stores base_score as a probability (leaves adds it to the margin as it is) and
// leaves num_output_group at 0, which the copy corrects. And leaves sends a feature equal to
// a split's threshold left, as LightGBM does, where XGBoost sends it right (it tests
// value < threshold): the copy lowers every threshold to the float32 just below it, so that
// for float32 features, which Scorer gives it, value <= lowered is value < threshold.
func legacyXGBoost(data []byte) ([]byte, error) {
	if len(data) > 0 && (data[0] == '{' || data[0] == '[') {
		return nil, fmt.Errorf("%w: it looks like JSON or UBJSON", ErrNotXGBoost)
	}
	modern := bytes.HasPrefix(data, []byte("binf"))
	if modern {
		data = data[4:]
	}
	data = bytes.Clone(data)
	if len(data) < learnerParamSize {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrNotXGBoost, len(data))
	}
	off := learnerParamSize
	var names [2]string
	for i := range names {
		if len(data) < off+8 {
			return nil, fmt.Errorf("%w: cut short in its header", ErrNotXGBoost)
		}
		n := binary.LittleEndian.Uint64(data[off:])
		if n > 256 || uint64(len(data)-off-8) < n {
			return nil, fmt.Errorf("%w: a name of %d bytes in its header", ErrNotXGBoost, n)
		}
		names[i] = string(data[off+8 : off+8+int(n)])
		off += 8 + int(n)
	}
	if names[1] != "gbtree" && names[1] != "dart" {
		return nil, fmt.Errorf("XGBoost model: booster %q is not gbtree or dart", names[1])
	}
	if len(data) < off+gbtreeParamSize {
		return nil, fmt.Errorf("%w: cut short before its trees", ErrNotXGBoost)
	}
	gbtree := data[off : off+gbtreeParamSize]
	if modern {
		if names[0] == "binary:logistic" {
			p := float64(math.Float32frombits(binary.LittleEndian.Uint32(data)))
			if p <= 0 || p >= 1 {
				return nil, fmt.Errorf("XGBoost model: base_score %g of a binary:logistic model is not a probability", p)
			}
			binary.LittleEndian.PutUint32(data, math.Float32bits(float32(math.Log(p/(1-p)))))
		}
		if binary.LittleEndian.Uint32(gbtree[outputGroupAt:]) == 0 {
			classes := int32(binary.LittleEndian.Uint32(data[8:]))
			binary.LittleEndian.PutUint32(gbtree[outputGroupAt:], uint32(max(1, classes)))
		}
	}
	trees := int(int32(binary.LittleEndian.Uint32(gbtree[numTreesAt:])))
	off += gbtreeParamSize
	for t := range trees {
		if len(data) < off+treeParamSize {
			return nil, fmt.Errorf("XGBoost model: cut short at tree %d of %d", t, trees)
		}
		nodes := int(int32(binary.LittleEndian.Uint32(data[off+4:])))
		leafVector := int32(binary.LittleEndian.Uint32(data[off+20:]))
		off += treeParamSize
		if nodes < 0 || len(data)-off < nodes*(nodeSize+nodeStatSize) {
			return nil, fmt.Errorf("XGBoost model: tree %d of %d nodes is cut short", t, nodes)
		}
		for n := range nodes {
			node := data[off+n*nodeSize:]
			if int32(binary.LittleEndian.Uint32(node[4:])) == -1 { // a leaf
				continue
			}
			thr := math.Float32frombits(binary.LittleEndian.Uint32(node[16:]))
			binary.LittleEndian.PutUint32(node[16:], math.Float32bits(math.Nextafter32(thr, float32(math.Inf(-1)))))
		}
		off += nodes * (nodeSize + nodeStatSize)
		if leafVector > 0 {
			if len(data) < off+8 {
				return nil, fmt.Errorf("XGBoost model: tree %d is cut short", t)
			}
			n := binary.LittleEndian.Uint64(data[off:])
			if n > uint64(len(data)-off-8)/4 {
				return nil, fmt.Errorf("XGBoost model: tree %d is cut short", t)
			}
			off += 8 + 4*int(n)
		}
	}
	return data, nil
}
