/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "http.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int gs_http_listen(const char *spec, char *msg, size_t msglen)
{
	char host[256] = "", port[32];
	const char *colon;
	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');
		if (!end || end[1] != ':') {
			snprintf(msg, msglen, "%s: expected [ADDRESS]:PORT", spec);
			return -1;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(end - spec - 1), spec + 1);
		colon = end + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon) {
			snprintf(msg, msglen, "%s: expected ADDRESS:PORT (e.g. 127.0.0.1:9799)", spec);
			return -1;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
	}
	snprintf(port, sizeof(port), "%s", colon + 1);
	char *endp;
	long pn = strtol(port, &endp, 10);
	if (!port[0] || *endp || pn < 0 || pn > 65535) {
		snprintf(msg, msglen, "%s: bad port '%s'", spec, port);
		return -1;
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int r = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (r) {
		snprintf(msg, msglen, "%s: %s", spec, gai_strerror(r));
		return -1;
	}
	int fd = -1, err = 0;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, a->ai_addr, a->ai_addrlen) && !listen(fd, 64))
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(msg, msglen, "%s: %s", spec, strerror(err));
	return fd;
}

/* Whether an Accept header value takes OpenMetrics: the media range is
 * listed and its q is not 0 (q=0 is a refusal). */
static int accepts_openmetrics(const char *accept)
{
	const char *om = strstr(accept, "application/openmetrics-text");
	if (!om)
		return 0;
	size_t n = strcspn(om, ",\r\n");
	char entry[512];
	snprintf(entry, sizeof(entry), "%.*s", (int)n, om);
	const char *q = strstr(entry, "q=");
	return !q || strtod(q + 2, NULL) > 0;
}

int gs_http_accept(int listen_fd, struct gs_http_request *req)
{
	char buf[8192];
	size_t len = 0;
	memset(req, 0, sizeof(*req));
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return -1;
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	tv.tv_sec = 10;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (len < sizeof(buf) - 1) {
		ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = 0;
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			break;
	}
	buf[len] = 0;
	if (sscanf(buf, "%7s %255s", req->method, req->path) != 2) {
		gs_http_respond(fd, 400, "text/plain", "bad request\n", 12, 0);
		return -1;
	}
	char *q = strchr(req->path, '?');
	if (q)
		*q = 0;
	for (char *line = strstr(buf, "\n"); line; line = strstr(line + 1, "\n")) {
		if (!strncasecmp(line + 1, "Accept:", 7)) {
			char *end = strchr(line + 1, '\n');
			size_t n = end ? (size_t)(end - line) : strlen(line);
			char accept[2048];
			snprintf(accept, sizeof(accept), "%.*s", (int)n, line + 1);
			req->wants_openmetrics = accepts_openmetrics(accept);
		}
	}
	return fd;
}

static const char *status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 500: return "Internal Server Error";
	default: return "Error";
	}
}

void gs_http_respond(int fd, int status, const char *ctype, const char *body,
		     size_t len, int head_only)
{
	char hdr[512];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n%s\r\n",
			 status, status_text(status), ctype, len,
			 status == 405 ? "Allow: GET, HEAD\r\n" : "");
	const char *parts[2] = { hdr, head_only ? NULL : body };
	size_t lens[2] = { (size_t)n, head_only ? 0 : len };
	for (int i = 0; i < 2; i++) {
		size_t off = 0;
		while (parts[i] && off < lens[i]) {
			ssize_t w = send(fd, parts[i] + off, lens[i] - off, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				goto out;
			off += (size_t)w;
		}
	}
out:
	shutdown(fd, SHUT_WR);
	close(fd);
}
