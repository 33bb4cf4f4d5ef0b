// Package runner is the training session shared by cmd/train and
// cmd/cluster: it opens a backend, builds an icbpc.Trainer, trains epoch by
// epoch with a progress bar (or JSON-lines events), evaluates after every
// epoch, and keeps a results folder up to date:
//
//	config.json        the resolved icbpc.RunConfig (reusable with -config)
//	metrics.csv        one row per epoch: losses, ACC/NMI/ARI/AMI, timing
//	assignments.csv    index, cluster, label (and path) of every evaluated image
//	loss.png           loss curves
//	scores.png         ACC, NMI and ARI per epoch
//	confusion.png      confusion matrix heat map (labelled data only)
//	latent.png         latent features, PCA to 2-D, coloured by cluster
//	sphere.png         with d = 3: the unit-sphere view of the paper's Figure 8
//	checkpoints/       step-NNNNNNNN.safetensors (+ .json) every epoch and on interrupt
//
// Every file is written atomically (temporary file + rename), so an
// interrupted or failed write never destroys the previous version. A run
// interrupted by a signal writes a checkpoint after the step in progress
// and can be resumed with identical results on the CPU backend.
package runner
