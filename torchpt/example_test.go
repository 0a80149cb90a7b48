package torchpt_test

import (
	"fmt"
	"log"

	"github.com/yolops/yolops/torchpt"
)

func Example() {
	f, err := torchpt.Open("testdata/module.pt")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()

	sd, err := f.StateDict()
	if err != nil {
		log.Fatal(err)
	}
	for name, t := range sd.All() {
		fmt.Println(name, t.DType, t.Shape)
	}
	w, err := sd.Tensors["1.weight"].Float32()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(w))
	// Output:
	// 0.weight float16 [4 3 3 3]
	// 1.weight float16 [4]
	// 1.bias float16 [4]
	// 1.running_mean float16 [4]
	// 1.running_var float16 [4]
	// 1.num_batches_tracked int64 []
	// 4
}

func ExampleGlobalError() {
	_, err := torchpt.Open("testdata/forbidden.pt")
	fmt.Println(err)
	// Output:
	// torchpt: forbidden/data.pkl offset 13: global not allowed: os.system (in testdata/forbidden.pt)
}
