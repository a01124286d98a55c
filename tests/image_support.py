"""Images made on the spot, and a local HTTP server that serves them (the image cache's tests)."""

import io
import struct
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image


def image_bytes(kind="JPEG", size=(1600, 900), colour=(40, 90, 160), **options):
    """A real image of `kind` (a gradient, so that it compresses like a picture)."""
    width, height = size
    mode = "RGBA" if options.pop("alpha", False) else "RGB"
    image = Image.new(mode, size, colour)
    stripe = Image.linear_gradient("L").resize((width, height))
    image.paste((230, 120, 40), mask=stripe)
    if mode == "RGBA":
        image.putalpha(Image.linear_gradient("L").resize((width, height)))
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


def animated_gif(frames=3, size=(120, 80)):
    images = [Image.new("RGB", size, (60 * n, 100, 200 - 50 * n)) for n in range(frames)]
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return out.getvalue()


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width=40_000, height=40_000):
    """A valid PNG of width x height one-bit pixels, all black: about 200 KB that would
    decode to 1.6 billion pixels."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row * 1000) for _ in range(height // 1000)]
    parts.append(compressor.compress(row * (height % 1000)))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


class Route:
    """What the server answers for one path."""

    def __init__(self, body=b"", status=200, content_type="image/jpeg", headers=None, **kind):
        self.body = body
        self.status = status
        self.content_type = content_type
        self.headers = headers or {}
        self.delay = kind.get("delay", 0)  # seconds before answering
        self.drip = kind.get("drip")  # (bytes per write, seconds between writes)
        self.chunked = kind.get("chunked", False)  # no Content-Length
        self.header_drip = kind.get("header_drip", 0)  # seconds between header lines
        self.short = kind.get("short", 0)  # bytes promised but never sent


class ImageServer:
    """A threaded HTTP server on 127.0.0.1 (or `host`) answering `routes` (path -> Route)."""

    def __init__(self, host="127.0.0.1"):
        self.routes = {}
        self.requests = []  # (path, headers) of every request
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append((self.path, dict(self.headers)))
                route = server.routes.get(self.path) or Route(b"not found", 404, "text/plain")
                if route.delay:
                    time.sleep(route.delay)
                try:
                    self.send_response(route.status)
                    self.send_header("Content-Type", route.content_type)
                    for name, value in route.headers.items():
                        self.send_header(name, value)
                    for n in range(20 if route.header_drip else 0):
                        self.send_header(f"X-Slow-{n}", "x")
                        self.flush_headers()
                        time.sleep(route.header_drip)
                    if not route.chunked and not route.drip:
                        self.send_header("Content-Length", str(len(route.body) + route.short))
                    self.end_headers()
                    if route.drip:
                        size, pause = route.drip
                        for start in range(0, len(route.body), size):
                            self.wfile.write(route.body[start : start + size])
                            self.wfile.flush()
                            time.sleep(pause)
                    else:
                        self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.host, self.port = self.httpd.server_address[:2]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path, host=None):
        return f"http://{host or self.host}:{self.port}{path}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def host_image(url, size=(1200, 675), kind="JPEG"):
    """Make `url` cached, as the fetcher would have left it: returns its StoredImage."""
    from articles.imagecache import cache, renditions
    from articles.models import ImageSource

    cache.register([url])
    picture = renditions.store(image_bytes(kind, size=size))
    ImageSource.objects.filter(url=url).update(
        status=ImageSource.Status.CACHED, picture=picture, next_attempt_at=None
    )
    return picture


def host_images_of(*articles):
    """Cache every image the pages show of `articles` (lead images, logos, coverage)."""
    from articles.imagecache import cache

    for url in cache.urls_shown([article.pk for article in articles]):
        host_image(url)
