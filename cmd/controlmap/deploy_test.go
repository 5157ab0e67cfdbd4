package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The deployment files run the image as a numeric non-root user (kubelet
// can check runAsNonRoot only against a number) and name a version, never
// "latest".
func TestDeployFilesRunAsNumericNonRoot(t *testing.T) {
	docker, err := os.ReadFile("../../deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^USER [1-9][0-9]*:[1-9][0-9]*$`).Match(docker) {
		t.Fatal("the Dockerfile's USER is not a numeric non-root user and group")
	}
	raw, err := os.ReadFile("../../deploy/kubernetes/controlmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	pods := 0
	for {
		var doc struct {
			Kind string
			Spec struct {
				Template struct {
					Spec struct {
						SecurityContext struct {
							RunAsNonRoot bool `yaml:"runAsNonRoot"`
							RunAsUser    int  `yaml:"runAsUser"`
						} `yaml:"securityContext"`
						Containers []struct {
							Name  string
							Image string
						}
					}
				}
			}
		}
		if err := dec.Decode(&doc); err != nil {
			break
		}
		if doc.Kind != "Job" && doc.Kind != "Deployment" {
			continue
		}
		pods++
		sc := doc.Spec.Template.Spec.SecurityContext
		if !sc.RunAsNonRoot || sc.RunAsUser <= 0 {
			t.Errorf("%s: runAsNonRoot %v, runAsUser %d", doc.Kind, sc.RunAsNonRoot, sc.RunAsUser)
		}
		for _, c := range doc.Spec.Template.Spec.Containers {
			if _, tag, ok := strings.Cut(c.Image, ":"); !ok || tag == "latest" {
				t.Errorf("%s container %s: image %q names no version", doc.Kind, c.Name, c.Image)
			}
		}
	}
	if pods != 2 {
		t.Fatalf("%d pod templates read, want the Job and the Deployment", pods)
	}
}
