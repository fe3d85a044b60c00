// Package deploy holds the checks of the deployment files at the project's
// root (docker-compose.yml, Dockerfile), which no Docker engine here can run,
// and the files they mount (temporal/dynamicconfig.yaml).
package deploy
