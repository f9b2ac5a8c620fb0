"""The window of ``seqgan play`` (pygame-ce, the ``seqgan[play]`` extra): the keyboard picks the action.

Keys: arrows or W/A/S/D move, space fires (combined into the game's ALE action, :class:`seqgan.play.KeyMap`;
in Pong up and down move the paddle), P pauses, R starts again, F12 saves a screenshot, Esc or Q quits.
With SDL's dummy video driver (``SDL_VIDEODRIVER=dummy``) it runs without a display, as the tests do.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seqgan._optional import require
from seqgan.play import KeyMap, Recorder, Session

log = logging.getLogger(__name__)

__all__ = ["run_window"]


def _held(pygame, keymap: KeyMap) -> list[str]:
    """The held direction / fire keys as :meth:`KeyMap.action` names."""
    pressed = pygame.key.get_pressed()
    keys = {
        "up": (pygame.K_UP, pygame.K_w),
        "down": (pygame.K_DOWN, pygame.K_s),
        "left": (pygame.K_LEFT, pygame.K_a),
        "right": (pygame.K_RIGHT, pygame.K_d),
        "fire": (pygame.K_SPACE,),
    }
    return [name for name, codes in keys.items() if any(pressed[c] for c in codes)]


def _blit(pygame, screen, image: np.ndarray) -> None:
    surface = pygame.surfarray.make_surface(np.ascontiguousarray(image.swapaxes(0, 1)))
    screen.blit(surface, (0, 0))
    pygame.display.flip()


def run_window(
    session: Session,
    keymap: KeyMap,
    fps: float = 15.0,
    actions: Sequence[int] | None = None,
    recorder: Recorder | None = None,
    screenshot: str | os.PathLike | None = None,
    max_steps: int = 0,
) -> dict[str, float]:
    """Plays in a window until the player quits, ``actions`` run out or ``max_steps`` are played.

    Args:
        session: the dream (and the real game).
        keymap: held keys -> action.
        fps: the frame rate aimed at (the loop waits for the rest of each frame's time).
        actions: a scripted session instead of the keyboard.
        recorder: gets every displayed image.
        screenshot: where F12 (and the end of the session) saves the displayed image as PNG.
        max_steps: stop after this many steps (0: no limit).

    Returns:
        ``{"steps": ..., "seconds": ..., "fps": ...}`` of the played steps.
    """
    pygame = require("pygame", "play")
    from seqgan.predict import save_png

    pygame.display.init()
    image = session.image()
    screen = pygame.display.set_mode((image.shape[1], image.shape[0]))
    names = keymap.spec.action_meanings
    clock = pygame.time.Clock()
    script = None if actions is None else iter(actions)
    steps, paused, running, action = 0, False, True, 0
    if recorder is not None:
        recorder.add(image)
    t0 = time.perf_counter()
    try:
        _blit(pygame, screen, image)
        while running:
            for event in pygame.event.get():
                if event.type == pygame.QUIT or (
                    event.type == pygame.KEYDOWN and event.key in (pygame.K_ESCAPE, pygame.K_q)
                ):
                    running = False
                elif event.type == pygame.KEYDOWN and event.key == pygame.K_p:
                    paused = not paused
                elif event.type == pygame.KEYDOWN and event.key == pygame.K_r:
                    image = session.reset()
                elif event.type == pygame.KEYDOWN and event.key == pygame.K_F12 and screenshot is not None:
                    save_png(screenshot, image)
                    log.info("screenshot: %s", screenshot)
            if not running:
                break
            if not paused:
                if script is not None:
                    nxt = next(script, None)
                    if nxt is None:
                        break
                    action = nxt
                else:
                    action = keymap.action(_held(pygame, keymap))
                image = session.step(action)
                steps += 1
                if recorder is not None:
                    recorder.add(image)
            _blit(pygame, screen, image)
            pygame.display.set_caption(
                f"seqgan play {keymap.spec.game}: {names[action]}{' (paused)' if paused else ''} "
                f"- step {steps} - {clock.get_fps():.0f} fps"
            )
            clock.tick(fps)
            if max_steps and steps >= max_steps:
                break
    finally:
        seconds = time.perf_counter() - t0
        if screenshot is not None:
            save_png(Path(screenshot), image)
        pygame.display.quit()
        if recorder is not None and recorder.frames:
            recorder.close()
    return {"steps": steps, "seconds": seconds, "fps": steps / seconds if seconds > 0 else 0.0}
