package service

import "google.golang.org/protobuf/protoadapt"

// protoDetail is any message that can travel in a status's details.
type protoDetail = protoadapt.MessageV1
