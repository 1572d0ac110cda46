src/a_test.go
