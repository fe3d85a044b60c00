# Builds the parcours binary (static, no cgo) into a minimal image.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /parcours ./cmd/parcours

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /parcours /parcours
USER nonroot
EXPOSE 8080
ENTRYPOINT ["/parcours"]
CMD ["serve"]
