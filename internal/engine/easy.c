// Easy handles, for the Go side: what it cannot do through the binding.
// Requests are built in Go; nothing here decides what is asked for.

#include "easy.h"
#include "sockets.h"

CURLcode mg_setopt_str(CURL *easy, CURLoption opt, const char *v) { return curl_easy_setopt(easy, opt, v); }

CURLcode mg_setopt_long(CURL *easy, CURLoption opt, long v) { return curl_easy_setopt(easy, opt, v); }

CURLcode mg_setopt_slist(CURL *easy, CURLoption opt, struct curl_slist *list) {
	return curl_easy_setopt(easy, opt, list);
}

struct curl_slist *mg_slist_append(struct curl_slist *list, const char *s) { return curl_slist_append(list, s); }

void mg_slist_free(struct curl_slist *list) { curl_slist_free_all(list); }

CURLcode mg_setopt_callbacks(CURL *easy) {
	CURLcode rc;
	if ((rc = curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, mg_write)))
		return rc;
	if ((rc = curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, mg_header_line)))
		return rc;
	if ((rc = curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, mg_opensocket)))
		return rc;
	if ((rc = mg_conn_setopt(easy)))
		return rc;
	return curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, mg_closesocket);
}

CURLcode mg_setopt_xfer(CURL *easy, mg_xfer *x) {
	CURLcode rc;
	if ((rc = curl_easy_setopt(easy, CURLOPT_WRITEDATA, x)))
		return rc;
	if ((rc = curl_easy_setopt(easy, CURLOPT_HEADERDATA, x)))
		return rc;
#if LIBCURL_VERSION_NUM >= 0x075000
	curl_easy_setopt(easy, CURLOPT_PREREQDATA, x);
#endif
	return curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, x->errbuf);
}

// The header list is the attempt's (freed with its mg_xfer).
void mg_easy_park(CURL *easy) {
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, NULL);
#if LIBCURL_VERSION_NUM >= 0x075000
	curl_easy_setopt(easy, CURLOPT_PREREQDATA, NULL);
#endif
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, NULL);
}

CURLSH *mg_share_new(int cookies) {
	CURLSH *sh = curl_share_init();
	if (!sh) {
		return NULL;
	}
	int tls = curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) == CURLSHE_OK;
	if (cookies ? curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE) != CURLSHE_OK : !tls) {
		curl_share_cleanup(sh);
		return NULL;
	}
	return sh;
}

CURLcode mg_setopt_share(CURL *easy, CURLSH *sh) { return curl_easy_setopt(easy, CURLOPT_SHARE, sh); }

void mg_share_free(CURLSH *sh) { curl_share_cleanup(sh); }

CURLcode mg_cookie_list(CURL *easy, struct curl_slist **out) {
	*out = NULL;
	return curl_easy_getinfo(easy, CURLINFO_COOKIELIST, out);
}

const char *mg_header(CURL *easy, const char *name) {
	struct curl_header *h;
	if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
		return NULL;
	return h->value;
}

long long mg_retry_after(CURL *easy) {
	curl_off_t s = -1;
	if (curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &s) != CURLE_OK || s <= 0)
		return -1;
	return (long long)s;
}
