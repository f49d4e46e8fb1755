// The fullduplex page: microphone -> WebSocket (binary PCM16), WebSocket -> speaker, and the
// JSON control frames of docs/browser-protocol.md. No build step, no third-party code.
"use strict";

const params = new URLSearchParams(location.search);
const state = {            // also read by the tests (window.fullduplex)
  status: "idle", session: null, ready: false, hungUp: false, reconnects: 0,
  sentBytes: 0, played: {}, transcripts: [], tools: [], errors: [], cleared: 0,
};
window.fullduplex = state;

const $ = (id) => document.getElementById(id);
let ctx = null, capture = null, playback = null, ws = null, currentItem = null;
const lines = {};          // item id -> transcript element

function setStatus(text, indicator) {
  state.status = text;
  $("status").textContent = text;
  if (indicator !== undefined) $("indicator").className = indicator;
}

function line(kind, who, text, key) {
  let el = key ? lines[key] : null;
  if (!el) {
    el = document.createElement("div");
    el.className = "line " + kind;
    el.innerHTML = '<span class="who"></span><span class="text"></span>';
    el.querySelector(".who").textContent = who;
    $("log").appendChild(el);
    if (key) lines[key] = el;
  }
  el.querySelector(".text").textContent = text;
  el.scrollIntoView({ block: "end" });
  return el;
}

function transcript(msg) {
  const key = (msg.item_id || "") + ":" + msg.role;
  let entry = state.transcripts.find((t) => t.key === key);
  if (!entry) {
    entry = { key, role: msg.role, item_id: msg.item_id, text: "", final: false };
    state.transcripts.push(entry);
  }
  if (msg.final) { entry.text = msg.text || entry.text; entry.final = true; }
  else entry.text += msg.delta;
  line(msg.role, msg.role === "user" ? "You" : "Agent", entry.text, key);
}

// microphone audio captured while reconnecting (at most ~10 s), sent after "ready"
const gapAudio = [];
let gapBytes = 0;
const GAP_LIMIT_BYTES = 10 * 48000 * 2;

function send(obj) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
}

function onControl(msg) {
  switch (msg.type) {
    case "ready":
      state.session = msg.session; state.ready = true;
      setStatus(msg.resumed ? "listening (resumed)" : "listening", "listening");
      // what the microphone heard while the socket was down: the user said it, deliver it
      for (const chunk of gapAudio.splice(0)) ws.send(chunk);
      gapBytes = 0;
      break;
    case "reconnect":
      // the server is going away: resume elsewhere at once, without backoff
      state.moveNow = true;
      break;
    case "audio_item":
      currentItem = msg.item_id;
      break;
    case "transcript":
      transcript(msg);
      break;
    case "user_speech":
      setStatus(msg.state === "started" ? "hearing you" : "thinking",
                msg.state === "started" ? "user" : "listening");
      break;
    case "response":
      if (msg.state === "started") setStatus("speaking", "speaking");
      break;
    case "clear":
      state.cleared += 1;
      playback.port.postMessage({ type: "clear" });
      if (msg.item_id && lines[msg.item_id + ":assistant"]) {
        lines[msg.item_id + ":assistant"].classList.add("cut");
      }
      setStatus("hearing you", "user");
      break;
    case "tool_call":
      state.tools.push(msg);
      line("tool", "tool", `${msg.name}(${msg.arguments})`, "call:" + msg.call_id);
      break;
    case "tool_result":
      line("tool", "tool", `${msg.name} -> ${msg.content}`, "result:" + msg.call_id);
      break;
    case "error":
      state.errors.push(msg.message);
      break;
    case "bye":
      finish("conversation over");
      break;
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const token = params.get("token");
  const query = new URLSearchParams();
  if (token) query.set("token", token);
  // a balancer keeps a resumed call on the process that holds it by this (deploy/nginx.conf)
  if (state.session) query.set("session", state.session);
  const url = `${scheme}//${location.host}/browser` + (query.size ? `?${query}` : "");
  ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => {
    ws.send(JSON.stringify({
      type: "hello", protocol: 1, resume: state.session,
      input_sample_rate: ctx.sampleRate, output_sample_rate: ctx.sampleRate,
    }));
  };
  ws.onmessage = (event) => {
    if (typeof event.data === "string") onControl(JSON.parse(event.data));
    else playback.port.postMessage({ type: "audio", item: currentItem, pcm: event.data }, [event.data]);
  };
  ws.onclose = () => {
    state.ready = false;
    if (state.hungUp) return;
    // a network blip: come back to the same conversation with the resume token
    state.reconnects += 1;
    if (state.reconnects > 8) { finish("connection lost"); return; }
    setStatus("reconnecting…", "");
    const delay = state.moveNow ? 0 : Math.min(4000, 250 * 2 ** state.reconnects);
    state.moveNow = false;
    setTimeout(connect, delay);
  };
}

function finish(why) {
  state.hungUp = true;
  setStatus(why, "");
  $("hangup").disabled = true;
  if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000);
}

async function start() {
  $("start").disabled = true;
  setStatus("starting…");
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
    });
    ctx = new AudioContext();
    await ctx.audioWorklet.addModule("static/capture-worklet.js");
    await ctx.audioWorklet.addModule("static/playback-worklet.js");
    capture = new AudioWorkletNode(ctx, "fullduplex-capture");
    playback = new AudioWorkletNode(ctx, "fullduplex-playback", { outputChannelCount: [1] });
    const mute = ctx.createGain();
    mute.gain.value = 0;
    ctx.createMediaStreamSource(stream).connect(capture).connect(mute).connect(ctx.destination);
    playback.connect(ctx.destination);
    capture.port.onmessage = (event) => {
      if (state.ready && ws.readyState === WebSocket.OPEN) {
        ws.send(event.data);
        state.sentBytes += event.data.byteLength;
      } else if (state.session && !state.hungUp && gapBytes < GAP_LIMIT_BYTES) {
        gapAudio.push(event.data);  // reconnecting: keep what the user says meanwhile
        gapBytes += event.data.byteLength;
      }
    };
    playback.port.onmessage = (event) => {
      const msg = event.data;
      for (const [item, ms] of Object.entries(msg.items)) {
        const rounded = Math.floor(ms);
        if (rounded > (state.played[item] || 0)) {
          state.played[item] = rounded;
          send({ type: "played", item_id: item, ms: rounded });
        }
      }
      if (!msg.playing && state.status === "speaking") setStatus("listening", "listening");
    };
    await ctx.resume();
    $("hangup").disabled = false;
    connect();
  } catch (err) {
    state.errors.push(String(err));
    setStatus("microphone unavailable", "");
    $("start").disabled = false;
  }
}

$("start").onclick = start;
$("hangup").onclick = () => { send({ type: "hangup" }); finish("hung up"); };
if (params.get("autostart") === "1") start();
