// Command demo is the tamach demonstration image: it boots on a board,
// prints the board's memory layout and the frame-pool size, and exits 0.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Println("tamach demo")
	layout.Print(os.Stdout)
	if err := layout.Check(); err != nil {
		fmt.Println("layout:", err)
		os.Exit(1)
	}
	fmt.Printf("frame pool: %d frames, %d MiB\n", layout.Frames(), layout.FramePool.Size>>20)
}
