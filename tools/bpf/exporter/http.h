/* SPDX-License-Identifier: MIT */
/*
 * The smallest HTTP/1.1 server a scraper needs: one listening socket, one
 * request per connection (Connection: close), GET and HEAD only. The
 * exporter's loop polls the listening fd and calls gs_http_serve() when it
 * is readable; a client gets 2 s to send its request.
 */
#ifndef GILSCOPE_BPF_HTTP_H
#define GILSCOPE_BPF_HTTP_H

#include <stddef.h>

struct gs_http_request {
	char method[8];
	char path[256];
	int wants_openmetrics;  /* Accept: application/openmetrics-text */
};

/* "ADDR:PORT", "[V6ADDR]:PORT" or ":PORT" (all addresses). Returns the
 * listening fd, or -1 with msg filled. */
int gs_http_listen(const char *spec, char *msg, size_t msglen);

/* Accepts one connection and reads its request. Returns the connection fd
 * (>= 0) with req filled, or -1 (nothing to answer; already closed). */
int gs_http_accept(int listen_fd, struct gs_http_request *req);

/* Sends a complete response and closes fd. body may be NULL for HEAD. */
void gs_http_respond(int fd, int status, const char *content_type,
		     const char *body, size_t len, int head_only);

#endif
