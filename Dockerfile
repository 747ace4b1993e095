# The task image: one static binary, CA certificates and a non-root user, FROM scratch, so nothing
# has to be pulled. `provisioner build --builder docker` sends this file with a build context that
# holds the binary (TASK_BINARY, as Sparta's SPARTA_DOCKER_BINARY), ca-certificates.crt, passwd,
# group, and directories.tar (/tmp, mode 1777: ADD keeps a tar's modes, COPY of a directory does not). `provisioner build --builder oci` writes the same filesystem without a daemon; a test
# keeps the two in step (entrypoint, user, environment).
FROM scratch
ARG TASK_BINARY=task
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY passwd /etc/passwd
COPY group /etc/group
ADD directories.tar /
COPY ${TASK_BINARY} /usr/local/bin/task
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/task", "fargateTask"]
