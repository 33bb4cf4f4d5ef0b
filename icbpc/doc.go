// Package icbpc implements ICBPC deep image clustering (Zhu, Hu and Wang,
// "Image Clustering Algorithm Based on Predefined Evenly-Distributed Class
// Centroids and Composite Cosine Distance", Entropy 2022) on top of vkgrad's
// tensor engine.
//
// The package has two halves. The pure-Go half needs no tensor engine:
//
//   - PEDCC: predefined evenly-distributed class centroids, either by the
//     authors' repulsion iteration (NewPEDCC with PEDCCRepulsion) or as the
//     closed-form regular simplex (PEDCCSimplex), and a reader for the
//     authors' pickled centroid files (ReadPEDCCPickle).
//   - Metrics: clustering accuracy with Hungarian matching (our own
//     Kuhn-Munkres solver, Hungarian), NMI (arithmetic, geometric, min and
//     max normalisation), AMI, ARI and the confusion matrix, matching
//     scikit-learn's conventions (NewConfusion, Evaluate).
//   - Datasets: one concrete type, Dataset, with uint8 NCHW pixel storage
//     and integer labels, loaded from MNIST (embedded in the binary, no
//     download), Fashion-MNIST, CIFAR-10 and STL-10 (binary versions),
//     COIL-20 and any ImageFolder tree of PNG/JPEG images (Load,
//     LoadMNIST, ...). Pixels become float32 in [-1, 1] (p/127.5 - 1, the
//     paper's Normalize(0.5, 0.5)) when copied out with Dataset.Image or
//     Dataset.Batch.
//   - Augmentation: seeded, parallel, host-side geometric and appearance
//     transforms on [-1, 1] float32 images (Pipeline, Op), the released
//     code's five views T1..T5 (ReleasedViews) and per-dataset presets
//     (PresetFor), and contact-sheet PNGs (SaveGridPNG).
//
// The other half (distances, MMD, contrastive loss, trainer) builds on the
// autograd package.
package icbpc
