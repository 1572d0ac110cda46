src/deep/b.go
