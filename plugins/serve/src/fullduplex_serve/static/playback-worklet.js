// Playback: a queue of PCM16 chunks tagged with their response item. Counts the samples
// really handed to the audio output per item and reports them (as ms) to the page.
// "clear" drops everything queued at once.
class PlaybackProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.queue = [];        // {item, data: Float32Array, offset}
    this.played = {};       // item -> samples played
    this.sinceReport = 0;
    this.playing = false;
    this.port.onmessage = (event) => {
      const msg = event.data;
      if (msg.type === "audio") {
        const pcm = new Int16Array(msg.pcm);
        const data = new Float32Array(pcm.length);
        for (let i = 0; i < pcm.length; i++) data[i] = pcm[i] / 0x8000;
        this.queue.push({ item: msg.item, data, offset: 0 });
      } else if (msg.type === "clear") {
        this.queue = [];
        this.report();
      }
    };
  }
  report() {
    const items = {};
    for (const [item, samples] of Object.entries(this.played)) {
      items[item] = (samples * 1000) / sampleRate;
    }
    this.port.postMessage({ type: "played", items, playing: this.queue.length > 0 });
    this.sinceReport = 0;
  }
  process(_inputs, outputs) {
    const out = outputs[0][0];
    let written = 0;
    while (written < out.length && this.queue.length > 0) {
      const head = this.queue[0];
      const n = Math.min(out.length - written, head.data.length - head.offset);
      out.set(head.data.subarray(head.offset, head.offset + n), written);
      written += n;
      head.offset += n;
      if (head.item) this.played[head.item] = (this.played[head.item] || 0) + n;
      if (head.offset >= head.data.length) this.queue.shift();
    }
    out.fill(0, written);
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
    const playing = this.queue.length > 0;
    this.sinceReport += out.length;
    if (this.sinceReport >= sampleRate / 10 || playing !== this.playing) {
      this.playing = playing;
      if (written > 0 || !playing) this.report();
    }
    return true;
  }
}
registerProcessor("fullduplex-playback", PlaybackProcessor);
