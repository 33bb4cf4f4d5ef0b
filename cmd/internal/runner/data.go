package runner

import (
	"os"

	"github.com/vkgrad/vkgrad/icbpc"
)

// needsFolder lists the datasets that have no default location.
var needsFolder = map[string]bool{"cifar10": true, "stl10": true, "coil20": true, "imagenet10": true, "folder": true}

// LoadData loads the training and evaluation images of c. Every failure
// is a *UsageError naming the problem and the flag that fixes it.
func LoadData(c icbpc.DataConfig) (train, test *icbpc.Dataset, err error) {
	switch {
	case c.Dir != "":
		if st, err := os.Stat(c.Dir); err != nil || !st.IsDir() {
			return nil, nil, Usagef("data folder %s does not exist or is not a folder (-data)", c.Dir)
		}
	case c.Dataset == "fashion-mnist":
		if _, err := os.Stat(icbpc.DefaultFashionMNISTDir); err != nil {
			return nil, nil, Usagef("fashion-mnist: %s does not exist; install Debian's dataset-fashion-mnist package or give the IDX folder with -data", icbpc.DefaultFashionMNISTDir)
		}
	case needsFolder[c.Dataset]:
		return nil, nil, Usagef("dataset %s needs its files: give their folder with -data", c.Dataset)
	}
	train, test, err = c.Load()
	if err != nil {
		return nil, nil, Usage(err)
	}
	return train, test, nil
}
