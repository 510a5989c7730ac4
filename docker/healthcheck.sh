#!/bin/bash
# Container healthcheck of the Open Bank Rust services, without curl or wget in the image:
# `GET /health` on the service's health port through bash's /dev/tcp; healthy only on HTTP 200
# (the projector answers 503 while it catches up, so it turns healthy once it is ready).
#
# Service: $OPEN_BANK_SERVICE (set by docker/Dockerfile.rust from the SERVICE build arg).
# Port:    $<SERVICE>_HEALTH_PORT if set (e.g. PROJECTOR_HEALTH_PORT, COMMAND_HANDLER_HEALTH_PORT),
#          else the service's default. A service without a health endpoint (the synchronizer, a
#          one-shot CLI) is always reported healthy.
set -u

service="${OPEN_BANK_SERVICE:-}"
case "$service" in
  command-handler) default_port=8090 ;;
  projector) default_port=8091 ;;
  graphql-endpoint) default_port=8888 ;;
  *) exit 0 ;;
esac

port_var="${service^^}_HEALTH_PORT"
port_var="${port_var//-/_}"
port="${!port_var:-$default_port}"

exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3 || exit 1
IFS=' ' read -r -t 5 _ status _ <&3 || exit 1
[ "$status" = 200 ]
