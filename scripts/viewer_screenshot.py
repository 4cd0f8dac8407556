#!/usr/bin/env python3
"""The README's picture of the web viewer: serve a run, open it in headless Chromium, pick a ray, screenshot.

    python3 scripts/viewer_screenshot.py --run /tmp/viewer_demo_q --out docs/images/viewer.png

Uses the system ``chromium`` and ``chromedriver`` (apt-get install chromium chromium-driver) through Selenium, as
the viewer's browser test does (tests/outputs/test_viewer.py). The picture shows the full-resolution frame of the first
training camera's view, the training cameras, and the samples of the ray through the middle of the view.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="run directory")
    parser.add_argument("--out", default="docs/images/viewer.png", help="PNG to write")
    parser.add_argument("--width", type=int, default=1100, help="browser window width in CSS pixels")
    parser.add_argument("--height", type=int, default=700, help="browser window height in CSS pixels")
    parser.add_argument("--resolution", type=int, default=256, help="the viewer's still-frame height")
    args = parser.parse_args()

    from jneusample.outputs.browser import open_chromium, wait_until
    from jneusample.outputs.viewer import Viewer, ViewerOptions

    with Viewer(args.run, ViewerOptions(port=0, resolution=args.resolution, psnr_views=2)) as viewer:
        driver = open_chromium(viewer.url, args.width, args.height)
        try:
            if not wait_until(lambda: any(frame.full for frame in viewer.frames), 180):
                raise SystemExit("no full-resolution frame within 3 minutes")
            client_id = viewer.frames[-1].client_id
            viewer.pick_pixel(client_id, 0.45, 0.5)
            wait_until(lambda: bool(viewer.picked) and (not viewer.any_n or bool(viewer.psnr_by_n)), 120)
            time.sleep(3.0)  # the client draws the picked samples and the panel's figure
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(args.out))
        finally:
            driver.quit()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
