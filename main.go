package main

import (
	"os"

	"github.com/multiget/multiget/cmd"
)

func main() { os.Exit(cmd.Main()) }
