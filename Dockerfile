# The kubebank image where a Docker daemon (or BuildKit) exists. `make
# image` builds the same image without one (src/cmd/imagebuild): one static
# binary on an empty base, numeric non-root user, entrypoint bank.
FROM golang:1.26.8 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY src/ src/
# Static (no cgo), reproducible, with the time zone database inside (the
# scheduler's --timezone; scratch has no /usr/share/zoneinfo).
ARG VERSION=0.1.0
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -tags timetzdata \
      -ldflags "-s -w -buildid= -X github.com/kubebank/kubebank/src/buildinfo.Version=${VERSION} -X github.com/kubebank/kubebank/src/buildinfo.Commit=${COMMIT}" \
      -o /out/usr/local/bin/bank ./src/cmd/bank \
 && mkdir -m 1777 /out/tmp

FROM scratch
COPY --from=build /out/ /
# Webhook deliveries go to HTTPS endpoints: Go's crypto/x509 reads this file.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# Numeric, so that Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 65532:65532
ENV PATH=/usr/local/bin
EXPOSE 8000 3000 9090
ENTRYPOINT ["/usr/local/bin/bank"]
CMD ["help"]
