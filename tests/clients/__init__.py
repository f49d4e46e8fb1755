"""The emulators driven by the clients people actually use, pinned (the ``clients`` tox env).

One module per client, each with the same four checks (a text turn, a tool
round trip, an audio turn with server VAD, a barge-in whose truncate is sent
while the answer still streams), every server event validated against the
client's own types:

- ``test_openai_sdk``: the ``openai`` package's realtime connection;
- ``test_openai_agents``: the OpenAI Agents SDK's ``RealtimeRunner``;
- ``test_pydantic_ai``: pydantic-ai's realtime model for OpenAI;
- ``test_google_genai`` (to come with the Gemini emulator): ``google-genai``'s
  Live client against the Gemini emulator, its events validated against
  ``google.genai.types``; its pin goes in ``requirements.txt`` beside the others.

These tests are collected only when ``FULLDUPLEX_CLIENTS=1`` (the env sets it),
so the main suite never needs the clients installed. Pins and how to bump them:
``requirements.txt``.
"""
