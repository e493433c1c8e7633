module kchan.dev/kchan

go 1.19
