# A Debian test host that boots systemd, trusts the controller's CA bundle (as hosts behind a
# TLS-inspecting proxy must) and has what Ansible needs (python3-apt for check mode). Built by scripts/test-images.sh.
ARG BASE
FROM ${BASE}
ENV container=docker DEBIAN_FRONTEND=noninteractive
COPY controller-ca.crt /usr/local/share/ca-certificates/controller-bundle.crt
RUN set -e; \
    pkgs="systemd systemd-sysv python3 python3-apt sudo ca-certificates iproute2 procps"; \
    if ! dpkg -s $pkgs >/dev/null 2>&1; then \
      apt-get update && apt-get install -y --no-install-recommends $pkgs; \
    fi; \
    update-ca-certificates >/dev/null; \
    printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >/etc/pip.conf; \
    systemctl mask getty.target systemd-udevd.service systemd-udevd-kernel.socket systemd-udevd-control.socket \
      systemd-logind.service console-getty.service >/dev/null 2>&1 || true; \
    : >/etc/machine-id
STOPSIGNAL SIGRTMIN+3
CMD ["/lib/systemd/systemd"]
