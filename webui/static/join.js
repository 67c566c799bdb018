// simgate sign-up page: the proof of work the page asks for while sign-ups
// come fast (webui/join.go). It finds a nonce such that
// SHA-256(challenge + ":" + nonce) starts with the required number of zero
// bits, then sends the form. Loaded only when the form carries a challenge;
// below the threshold the page needs no JavaScript at all.
(function () {
  "use strict";

  // SHA-256 (FIPS 180-4) of an ASCII string, as 8 32-bit words. The
  // challenge and the nonce are ASCII, so one char is one byte; Web Crypto
  // is not used because browsers offer it only on https pages.
  var K = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2];
  var W = new Array(64);

  function rotr(x, n) { return (x >>> n) | (x << (32 - n)); }

  function sha256(str) {
    var n = str.length;
    var blocks = ((n + 8) >> 6) + 1; // message, the 0x80 byte and the 64-bit length
    var words = new Array(blocks * 16);
    for (var i = 0; i < words.length; i++) words[i] = 0;
    for (i = 0; i < n; i++) words[i >> 2] |= (str.charCodeAt(i) & 0xff) << (24 - 8 * (i & 3));
    words[n >> 2] |= 0x80 << (24 - 8 * (n & 3));
    words[words.length - 1] = n * 8; // fits 32 bits: the input is short

    var h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    for (var b = 0; b < words.length; b += 16) {
      for (var t = 0; t < 64; t++) {
        if (t < 16) {
          W[t] = words[b + t];
        } else {
          var w15 = W[t - 15], w2 = W[t - 2];
          var s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >>> 3);
          var s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >>> 10);
          W[t] = (W[t - 16] + s0 + W[t - 7] + s1) | 0;
        }
      }
      var a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
      for (t = 0; t < 64; t++) {
        var S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        var ch = (e & f) ^ (~e & g);
        var t1 = (hh + S1 + ch + K[t] + W[t]) | 0;
        var S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        var maj = (a & bb) ^ (a & c) ^ (bb & c);
        var t2 = (S0 + maj) | 0;
        hh = g; g = f; f = e; e = (d + t1) | 0;
        d = c; c = bb; bb = a; a = (t1 + t2) | 0;
      }
      h[0] = (h[0] + a) | 0; h[1] = (h[1] + bb) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0;
      h[4] = (h[4] + e) | 0; h[5] = (h[5] + f) | 0; h[6] = (h[6] + g) | 0; h[7] = (h[7] + hh) | 0;
    }
    return h;
  }

  // zeroBits counts the leading zero bits of a digest.
  function zeroBits(h) {
    var z = 0;
    for (var i = 0; i < 8; i++) {
      if (h[i] === 0) { z += 32; continue; }
      return z + Math.clz32(h[i]);
    }
    return z;
  }

  // solve looks for the nonce in slices, so the page stays responsive
  // and can say that it is working.
  function solve(challenge, bits, done) {
    var nonce = 0;
    function slice() {
      for (var end = nonce + 5000; nonce < end; nonce++) {
        if (zeroBits(sha256(challenge + ":" + nonce)) >= bits) { done(String(nonce)); return; }
      }
      setTimeout(slice, 0);
    }
    slice();
  }

  window.simgateSHA256 = sha256; // for the browser test's check against Go's

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("join-form");
    var challenge = form && form.querySelector('input[name="challenge"]');
    if (!challenge) return;
    var nonce = form.querySelector('input[name="nonce"]');
    var status = document.getElementById("join-check");
    var solving = false;
    form.addEventListener("submit", function (e) {
      if (nonce.value) return; // solved: let the form go
      e.preventDefault();
      if (solving) return;
      solving = true;
      status.hidden = false;
      solve(challenge.value, parseInt(challenge.dataset.bits, 10), function (n) {
        nonce.value = n;
        status.textContent = "Done. Sending…";
        form.submit();
      });
    });
  });
})();
