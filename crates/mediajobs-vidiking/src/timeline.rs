//! The typed render request: timeline, tracks, clips, assets and output settings, with the
//! validation run before anything is sent.

use mediajobs_core::{Error, Provider, SubmitRequest};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
    Error::InvalidInput {
        provider: Provider::Vidiking,
        field: field.into(),
        message: message.into(),
    }
}

/// A render's timeline: layered tracks of clips, plus an optional background colour and
/// soundtrack.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Timeline {
    /// The background colour (e.g. `#000000`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<String>,
    /// Audio played under the whole timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soundtrack: Option<Soundtrack>,
    /// The tracks; `tracks[0]` is the top layer.
    pub tracks: Vec<Track>,
}

impl Timeline {
    /// A timeline of `tracks` (`tracks[0]` on top).
    pub fn new(tracks: Vec<Track>) -> Self {
        Timeline {
            background: None,
            soundtrack: None,
            tracks,
        }
    }

    /// Sets the background colour.
    pub fn with_background(mut self, colour: impl Into<String>) -> Self {
        self.background = Some(colour.into());
        self
    }

    /// Sets the soundtrack.
    pub fn with_soundtrack(mut self, soundtrack: Soundtrack) -> Self {
        self.soundtrack = Some(soundtrack);
        self
    }

    /// Checks every rule the provider documents for a timeline, naming the first bad field
    /// (`timeline.tracks[0].clips[2].offset.x`).
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(s) = &self.soundtrack {
            s.validate("timeline.soundtrack")?;
        }
        if self.tracks.is_empty() {
            return Err(invalid("timeline.tracks", "needs at least one track"));
        }
        for (t, track) in self.tracks.iter().enumerate() {
            let path = format!("timeline.tracks[{t}].clips");
            if track.clips.is_empty() {
                return Err(invalid(path, "needs at least one clip"));
            }
            for (c, clip) in track.clips.iter().enumerate() {
                clip.validate(&format!("{path}[{c}]"))?;
            }
        }
        Ok(())
    }
}

/// Audio under the whole timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Soundtrack {
    /// The audio file's URL.
    pub src: String,
    /// An audio effect (e.g. `fadeIn`, `fadeOut`, `fadeInFadeOut`); passed through as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
    /// The volume, 0 (muted) … 1 (unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<f64>,
}

impl Soundtrack {
    /// A soundtrack from `src`.
    pub fn new(src: impl Into<String>) -> Self {
        Soundtrack {
            src: src.into(),
            effect: None,
            volume: None,
        }
    }

    fn validate(&self, path: &str) -> Result<(), Error> {
        non_empty(&self.src, &format!("{path}.src"))?;
        in_range(self.volume, 0.0, 1.0, &format!("{path}.volume"))
    }
}

/// One layer of the timeline.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Track {
    /// The clips on this layer.
    pub clips: Vec<Clip>,
}

impl Track {
    /// A track of `clips`.
    pub fn new(clips: Vec<Clip>) -> Self {
        Track { clips }
    }
}

/// One asset placed on a track for a span of time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clip {
    /// What is shown or played.
    pub asset: Asset,
    /// When it starts, in seconds from the start of the timeline (≥ 0).
    pub start: f64,
    /// How long it lasts, in seconds (> 0).
    pub length: f64,
    /// Transitions in and out (about 1 s each).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition: Option<Transition>,
    /// A motion effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<ClipEffect>,
    /// The position offset from the centre, each axis −1…1 (`y = −1` is the top).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<Offset>,
    /// The scale, 0.01–2 (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    /// The opacity, 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opacity: Option<f64>,
    /// How the asset fills the frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<Fit>,
}

impl Clip {
    /// A clip showing `asset` from `start` for `length` seconds.
    pub fn new(asset: Asset, start: f64, length: f64) -> Self {
        Clip {
            asset,
            start,
            length,
            transition: None,
            effect: None,
            offset: None,
            scale: None,
            opacity: None,
            fit: None,
        }
    }

    /// Sets the transitions in and out (either may be `None`).
    pub fn with_transition(
        mut self,
        into: Option<TransitionKind>,
        out: Option<TransitionKind>,
    ) -> Self {
        self.transition = Some(Transition { into, out });
        self
    }

    /// Sets the motion effect.
    pub fn with_effect(mut self, effect: ClipEffect) -> Self {
        self.effect = Some(effect);
        self
    }

    /// Sets the offset from the centre (each axis −1…1).
    pub fn with_offset(mut self, x: f64, y: f64) -> Self {
        self.offset = Some(Offset { x, y });
        self
    }

    /// Sets the scale (0.01–2).
    pub fn with_scale(mut self, scale: f64) -> Self {
        self.scale = Some(scale);
        self
    }

    /// Sets the opacity (0–1).
    pub fn with_opacity(mut self, opacity: f64) -> Self {
        self.opacity = Some(opacity);
        self
    }

    /// Sets how the asset fills the frame.
    pub fn with_fit(mut self, fit: Fit) -> Self {
        self.fit = Some(fit);
        self
    }

    fn validate(&self, path: &str) -> Result<(), Error> {
        if !self.start.is_finite() || self.start < 0.0 {
            return Err(invalid(
                format!("{path}.start"),
                format!("must be ≥ 0 seconds, got {}", self.start),
            ));
        }
        if !self.length.is_finite() || self.length <= 0.0 {
            return Err(invalid(
                format!("{path}.length"),
                format!("must be > 0 seconds, got {}", self.length),
            ));
        }
        if let Some(o) = &self.offset {
            in_range(Some(o.x), -1.0, 1.0, &format!("{path}.offset.x"))?;
            in_range(Some(o.y), -1.0, 1.0, &format!("{path}.offset.y"))?;
        }
        in_range(self.scale, 0.01, 2.0, &format!("{path}.scale"))?;
        in_range(self.opacity, 0.0, 1.0, &format!("{path}.opacity"))?;
        self.asset.validate(&format!("{path}.asset"))
    }
}

/// A clip's transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Transition {
    /// The transition in (`in` on the wire).
    #[serde(rename = "in", default, skip_serializing_if = "Option::is_none")]
    pub into: Option<TransitionKind>,
    /// The transition out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out: Option<TransitionKind>,
}

/// The documented transitions, about one second each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TransitionKind {
    /// `fade`
    Fade,
    /// `slideLeft`
    SlideLeft,
    /// `slideRight`
    SlideRight,
    /// `slideUp`
    SlideUp,
    /// `slideDown`
    SlideDown,
    /// `wipeLeft`
    WipeLeft,
    /// `wipeRight`
    WipeRight,
    /// `wipeUp`
    WipeUp,
    /// `wipeDown`
    WipeDown,
    /// `zoom`
    Zoom,
}

/// A clip's motion effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ClipEffect {
    /// `zoomIn`
    ZoomIn,
    /// `zoomOut`
    ZoomOut,
}

/// How an asset fills the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fit {
    /// Fill the frame, cropping what overflows.
    Cover,
    /// Fit inside the frame, letterboxed.
    Contain,
    /// Crop to the frame.
    Crop,
    /// Original size.
    None,
}

/// A clip's position offset from the centre; each axis −1…1, `y = −1` is the top.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Offset {
    /// Horizontal, −1 (left) … 1 (right).
    pub x: f64,
    /// Vertical, −1 (top) … 1 (bottom).
    pub y: f64,
}

/// What a clip shows or plays, tagged by `type` on the wire. There is no `text` type: use
/// [`Asset::Title`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Asset {
    /// `{"type": "video", src, trim?, volume?}`
    Video(VideoAsset),
    /// `{"type": "image", src}`
    Image(ImageAsset),
    /// `{"type": "title", text, style?, size?, color?}`
    Title(TitleAsset),
    /// `{"type": "audio", src, trim?, volume?, effect?}`
    Audio(AudioAsset),
    /// `{"type": "html", html, css?, …}`
    Html(HtmlAsset),
}

impl Asset {
    /// A video asset from `src`.
    pub fn video(src: impl Into<String>) -> Self {
        Asset::Video(VideoAsset {
            src: src.into(),
            trim: None,
            volume: None,
        })
    }

    /// An image asset from `src`.
    pub fn image(src: impl Into<String>) -> Self {
        Asset::Image(ImageAsset { src: src.into() })
    }

    /// A title showing `text`.
    pub fn title(text: impl Into<String>) -> Self {
        Asset::Title(TitleAsset {
            text: text.into(),
            style: None,
            size: None,
            color: None,
        })
    }

    /// An audio asset from `src`.
    pub fn audio(src: impl Into<String>) -> Self {
        Asset::Audio(AudioAsset {
            src: src.into(),
            trim: None,
            volume: None,
            effect: None,
        })
    }

    /// An HTML asset.
    pub fn html(html: impl Into<String>) -> Self {
        Asset::Html(HtmlAsset {
            html: html.into(),
            css: None,
            extra: Map::new(),
        })
    }

    fn validate(&self, path: &str) -> Result<(), Error> {
        match self {
            Asset::Video(v) => {
                non_empty(&v.src, &format!("{path}.src"))?;
                non_negative(v.trim, &format!("{path}.trim"))?;
                in_range(v.volume, 0.0, 1.0, &format!("{path}.volume"))
            }
            Asset::Image(i) => non_empty(&i.src, &format!("{path}.src")),
            Asset::Title(t) => non_empty(&t.text, &format!("{path}.text")),
            Asset::Audio(a) => {
                non_empty(&a.src, &format!("{path}.src"))?;
                non_negative(a.trim, &format!("{path}.trim"))?;
                in_range(a.volume, 0.0, 1.0, &format!("{path}.volume"))
            }
            Asset::Html(h) => {
                // An extra field named like the tag or a named field would replace it on the
                // wire (`"type": "video"` sends another asset than the one validated).
                if let Some(k) = ["type", "html", "css"]
                    .into_iter()
                    .find(|k| h.extra.contains_key(*k))
                {
                    return Err(invalid(
                        format!("{path}.{k}"),
                        "is a named field of the html asset; set it there, not in `extra`",
                    ));
                }
                non_empty(&h.html, &format!("{path}.html"))
            }
        }
    }
}

/// A video file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoAsset {
    /// The file's URL.
    pub src: String,
    /// Seconds cut from the start of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trim: Option<f64>,
    /// The volume, 0 (muted) … 1 (unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<f64>,
}

/// An image file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageAsset {
    /// The file's URL.
    pub src: String,
}

/// A text title.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TitleAsset {
    /// The text.
    pub text: String,
    /// A style preset name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    /// A size preset name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// The text colour (e.g. `#ffffff`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

/// An audio file placed on a track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioAsset {
    /// The file's URL.
    pub src: String,
    /// Seconds cut from the start of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trim: Option<f64>,
    /// The volume, 0 (muted) … 1 (unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<f64>,
    /// An audio effect (e.g. `fadeIn`); passed through as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
}

/// HTML rendered into the frame. Fields the types do not name (`width`, `height`,
/// `background`, …) are kept in `extra` and sent as given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HtmlAsset {
    /// The HTML.
    pub html: String,
    /// Its CSS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub css: Option<String>,
    /// Any other fields, sent as given (not `type`, `html` or `css`: validation refuses those).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The output file's container format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `mp4` \[doc].
    #[default]
    Mp4,
    /// `webm` \[assumed: accepted].
    Webm,
    /// `gif` \[assumed: accepted].
    Gif,
    /// `mp3`, audio only \[assumed: accepted].
    Mp3,
}

impl Format {
    /// The wire name (`mp4`).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Mp4 => "mp4",
            Format::Webm => "webm",
            Format::Gif => "gif",
            Format::Mp3 => "mp3",
        }
    }

    /// The MIME type of files in this format.
    pub fn mime_type(self) -> &'static str {
        match self {
            Format::Mp4 => "video/mp4",
            Format::Webm => "video/webm",
            Format::Gif => "image/gif",
            Format::Mp3 => "audio/mpeg",
        }
    }

    /// Parses a wire name (case-insensitive).
    pub fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "mp4" => Some(Format::Mp4),
            "webm" => Some(Format::Webm),
            "gif" => Some(Format::Gif),
            "mp3" => Some(Format::Mp3),
            _ => None,
        }
    }
}

/// The output resolution. Sandbox renders are capped at 720p whatever this says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Resolution {
    /// `sd` \[assumed: accepted].
    #[serde(rename = "sd")]
    Sd,
    /// `hd` (720p) \[doc].
    #[default]
    #[serde(rename = "hd")]
    Hd,
    /// `1080` \[doc].
    #[serde(rename = "1080")]
    FullHd,
    /// `4k` \[assumed: accepted].
    #[serde(rename = "4k")]
    Uhd4k,
}

/// What to render to: `{format, resolution, aspectRatio?, fps?}`. The default is the docs'
/// example, `mp4` at `hd`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RenderOutput {
    /// The container format.
    pub format: Format,
    /// The resolution.
    pub resolution: Resolution,
    /// The aspect ratio (e.g. `16:9`, `9:16`, `1:1`), `aspectRatio` on the wire.
    #[serde(
        rename = "aspectRatio",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub aspect_ratio: Option<String>,
    /// Frames per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fps: Option<f64>,
}

impl RenderOutput {
    /// `format` at `resolution`.
    pub fn new(format: Format, resolution: Resolution) -> Self {
        RenderOutput {
            format,
            resolution,
            aspect_ratio: None,
            fps: None,
        }
    }

    /// Sets the aspect ratio (e.g. `9:16`).
    pub fn with_aspect_ratio(mut self, ratio: impl Into<String>) -> Self {
        self.aspect_ratio = Some(ratio.into());
        self
    }

    /// Sets the frame rate.
    pub fn with_fps(mut self, fps: f64) -> Self {
        self.fps = Some(fps);
        self
    }

    fn validate(&self) -> Result<(), Error> {
        if let Some(fps) = self.fps {
            if !fps.is_finite() || fps <= 0.0 {
                return Err(invalid("output.fps", format!("must be > 0, got {fps}")));
            }
        }
        if let Some(r) = &self.aspect_ratio {
            non_empty(r, "output.aspectRatio")?;
        }
        Ok(())
    }
}

/// A render request: `POST /v1/render {timeline, output, callback?, metadata?}`.
///
/// Build one with [`RenderRequest::builder`], which validates; turn it into the
/// [`SubmitRequest`] every adapter takes with [`RenderRequest::into_submit_request`].
///
/// ```
/// use mediajobs_vidiking::{Asset, Clip, Format, RenderOutput, RenderRequest, Resolution, Track, TransitionKind};
///
/// let request = RenderRequest::builder()
///     .track(Track::new(vec![
///         Clip::new(Asset::title("Hello"), 0.0, 3.0).with_transition(Some(TransitionKind::Fade), None),
///     ]))
///     .track(Track::new(vec![Clip::new(Asset::image("https://example.com/a.jpg"), 0.0, 5.0).with_scale(1.2)]))
///     .output(RenderOutput::new(Format::Mp4, Resolution::FullHd))
///     .callback("https://example.com/webhooks/vidiking")
///     .metadata("campaign", "spring")
///     .build()?;
/// let body = request.to_body()?;
/// assert_eq!(body["output"]["resolution"], "1080");
/// assert_eq!(body["timeline"]["tracks"][0]["clips"][0]["asset"]["type"], "title");
///
/// // Out-of-range values are refused before sending, naming the field.
/// let err = RenderRequest::builder()
///     .track(Track::new(vec![Clip::new(Asset::video("https://example.com/v.mp4"), 0.0, 2.0).with_offset(1.5, 0.0)]))
///     .build()
///     .unwrap_err();
/// assert_eq!(err.field(), Some("timeline.tracks[0].clips[0].offset.x"));
/// # Ok::<(), mediajobs_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderRequest {
    /// What to render.
    pub timeline: Timeline,
    /// What to render to.
    pub output: RenderOutput,
    /// A URL notified when the job ends (signed with the account webhook secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<String>,
    /// Key-value data attached to the job and echoed in status and list answers. mediajobs
    /// adds `mediajobs_key` here when a [`SubmitRequest`] has a key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

impl RenderRequest {
    /// A request for `timeline` rendered to `output`.
    pub fn new(timeline: Timeline, output: RenderOutput) -> Self {
        RenderRequest {
            timeline,
            output,
            callback: None,
            metadata: None,
        }
    }

    /// A builder (output defaults to `mp4` at `hd`).
    pub fn builder() -> RenderRequestBuilder {
        RenderRequestBuilder::default()
    }

    /// Checks every documented rule, naming the first bad field.
    pub fn validate(&self) -> Result<(), Error> {
        self.timeline.validate()?;
        self.output.validate()?;
        if let Some(cb) = &self.callback {
            validate_url(cb, "callback")?;
        }
        Ok(())
    }

    /// The JSON body, after validation.
    pub fn to_body(&self) -> Result<Value, Error> {
        self.validate()?;
        serde_json::to_value(self).map_err(|e| invalid("body", e.to_string()))
    }

    /// The [`SubmitRequest`] for [`mediajobs_core::ProviderApi::submit`], after validation.
    pub fn into_submit_request(self) -> Result<SubmitRequest, Error> {
        Ok(SubmitRequest::new(self.to_body()?))
    }
}

/// Builds a [`RenderRequest`]; [`RenderRequestBuilder::build`] validates.
#[derive(Debug, Clone, Default)]
pub struct RenderRequestBuilder {
    timeline: Timeline,
    output: RenderOutput,
    callback: Option<String>,
    metadata: Option<Map<String, Value>>,
}

impl RenderRequestBuilder {
    /// Replaces the whole timeline.
    pub fn timeline(mut self, timeline: Timeline) -> Self {
        self.timeline = timeline;
        self
    }

    /// Adds a track below the ones already added (the first is the top layer).
    pub fn track(mut self, track: Track) -> Self {
        self.timeline.tracks.push(track);
        self
    }

    /// Sets the background colour.
    pub fn background(mut self, colour: impl Into<String>) -> Self {
        self.timeline.background = Some(colour.into());
        self
    }

    /// Sets the soundtrack.
    pub fn soundtrack(mut self, soundtrack: Soundtrack) -> Self {
        self.timeline.soundtrack = Some(soundtrack);
        self
    }

    /// Sets the output settings.
    pub fn output(mut self, output: RenderOutput) -> Self {
        self.output = output;
        self
    }

    /// Sets the URL notified when the job ends.
    pub fn callback(mut self, url: impl Into<String>) -> Self {
        self.callback = Some(url.into());
        self
    }

    /// Adds one metadata entry.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.metadata
            .get_or_insert_with(Map::new)
            .insert(key.into(), value.into());
        self
    }

    /// Validates and returns the request.
    pub fn build(self) -> Result<RenderRequest, Error> {
        let request = RenderRequest {
            timeline: self.timeline,
            output: self.output,
            callback: self.callback,
            metadata: self.metadata,
        };
        request.validate()?;
        Ok(request)
    }
}

fn non_empty(value: &str, field: &str) -> Result<(), Error> {
    if value.trim().is_empty() {
        Err(invalid(field, "must not be empty"))
    } else {
        Ok(())
    }
}

fn non_negative(value: Option<f64>, field: &str) -> Result<(), Error> {
    match value {
        Some(v) if !v.is_finite() || v < 0.0 => {
            Err(invalid(field, format!("must be ≥ 0, got {v}")))
        }
        _ => Ok(()),
    }
}

fn in_range(value: Option<f64>, min: f64, max: f64, field: &str) -> Result<(), Error> {
    match value {
        Some(v) if !(min..=max).contains(&v) => Err(invalid(
            field,
            format!("must be between {min} and {max}, got {v}"),
        )),
        _ => Ok(()),
    }
}

/// An http(s) URL (the sim accepts plain http on loopback; the real service wants https).
pub(crate) fn validate_url(value: &str, field: &str) -> Result<(), Error> {
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        Ok(_) => Err(invalid(field, "must be an http or https URL")),
        Err(e) => Err(invalid(field, format!("not a URL: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn clip() -> Clip {
        Clip::new(Asset::image("https://example.com/a.jpg"), 0.0, 5.0)
    }

    fn one_clip(c: Clip) -> Result<RenderRequest, Error> {
        RenderRequest::builder().track(Track::new(vec![c])).build()
    }

    #[test]
    fn serializes_to_the_documented_shape() {
        let mut html = Asset::html("<p>hi</p>");
        if let Asset::Html(h) = &mut html {
            h.css = Some("p { color: red }".into());
            h.extra.insert("width".into(), json!(400));
        }
        let req = RenderRequest::builder()
            .background("#000000")
            .soundtrack(Soundtrack {
                src: "https://e.com/s.mp3".into(),
                effect: Some("fadeOut".into()),
                volume: Some(0.5),
            })
            .track(Track::new(vec![
                Clip::new(Asset::title("Hi"), 0.0, 2.0)
                    .with_transition(
                        Some(TransitionKind::SlideLeft),
                        Some(TransitionKind::WipeDown),
                    )
                    .with_effect(ClipEffect::ZoomIn)
                    .with_offset(-1.0, 1.0)
                    .with_scale(0.01)
                    .with_opacity(0.0)
                    .with_fit(Fit::None),
                Clip::new(html, 2.0, 1.0),
            ]))
            .track(Track::new(vec![
                Clip::new(Asset::video("https://e.com/v.mp4"), 0.0, 3.0),
                Clip::new(Asset::audio("https://e.com/a.mp3"), 0.0, 3.0),
            ]))
            .output(
                RenderOutput::new(Format::Webm, Resolution::Uhd4k)
                    .with_aspect_ratio("9:16")
                    .with_fps(25.0),
            )
            .callback("http://127.0.0.1:9/webhooks/vidiking")
            .metadata("a", 1)
            .build()
            .unwrap();
        let body = req.to_body().unwrap();
        assert_eq!(
            body,
            json!({
                "timeline": {
                    "background": "#000000",
                    "soundtrack": {"src": "https://e.com/s.mp3", "effect": "fadeOut", "volume": 0.5},
                    "tracks": [
                        {"clips": [
                            {"asset": {"type": "title", "text": "Hi"}, "start": 0.0, "length": 2.0,
                             "transition": {"in": "slideLeft", "out": "wipeDown"}, "effect": "zoomIn",
                             "offset": {"x": -1.0, "y": 1.0}, "scale": 0.01, "opacity": 0.0, "fit": "none"},
                            {"asset": {"type": "html", "html": "<p>hi</p>", "css": "p { color: red }", "width": 400},
                             "start": 2.0, "length": 1.0}
                        ]},
                        {"clips": [
                            {"asset": {"type": "video", "src": "https://e.com/v.mp4"}, "start": 0.0, "length": 3.0},
                            {"asset": {"type": "audio", "src": "https://e.com/a.mp3"}, "start": 0.0, "length": 3.0}
                        ]}
                    ]
                },
                "output": {"format": "webm", "resolution": "4k", "aspectRatio": "9:16", "fps": 25.0},
                "callback": "http://127.0.0.1:9/webhooks/vidiking",
                "metadata": {"a": 1}
            })
        );
        // And back: the html asset keeps its extra fields, the rest round-trips.
        let back: RenderRequest = serde_json::from_value(body).unwrap();
        assert_eq!(back, req);
    }

    #[test]
    fn every_transition_and_resolution_has_its_wire_name() {
        let names = [
            (TransitionKind::Fade, "fade"),
            (TransitionKind::SlideLeft, "slideLeft"),
            (TransitionKind::SlideRight, "slideRight"),
            (TransitionKind::SlideUp, "slideUp"),
            (TransitionKind::SlideDown, "slideDown"),
            (TransitionKind::WipeLeft, "wipeLeft"),
            (TransitionKind::WipeRight, "wipeRight"),
            (TransitionKind::WipeUp, "wipeUp"),
            (TransitionKind::WipeDown, "wipeDown"),
            (TransitionKind::Zoom, "zoom"),
        ];
        for (t, n) in names {
            assert_eq!(serde_json::to_value(t).unwrap(), json!(n));
        }
        for (r, n) in [
            (Resolution::Sd, "sd"),
            (Resolution::Hd, "hd"),
            (Resolution::FullHd, "1080"),
            (Resolution::Uhd4k, "4k"),
        ] {
            assert_eq!(serde_json::to_value(r).unwrap(), json!(n));
        }
        for f in [Format::Mp4, Format::Webm, Format::Gif, Format::Mp3] {
            assert_eq!(serde_json::to_value(f).unwrap(), json!(f.as_str()));
            assert_eq!(Format::parse(&f.as_str().to_uppercase()), Some(f));
        }
        assert_eq!(Format::parse("avi"), None);
        assert_eq!(
            serde_json::to_value(RenderOutput::default()).unwrap(),
            json!({"format": "mp4", "resolution": "hd"})
        );
    }

    #[test]
    fn validation_names_the_field() {
        let cases: Vec<(Result<RenderRequest, Error>, &str)> = vec![
            (RenderRequest::builder().build(), "timeline.tracks"),
            (
                RenderRequest::builder().track(Track::default()).build(),
                "timeline.tracks[0].clips",
            ),
            (
                one_clip(clip().with_offset(0.0, -1.01)),
                "timeline.tracks[0].clips[0].offset.y",
            ),
            (
                one_clip(clip().with_offset(1.01, 0.0)),
                "timeline.tracks[0].clips[0].offset.x",
            ),
            (
                one_clip(clip().with_scale(0.0)),
                "timeline.tracks[0].clips[0].scale",
            ),
            (
                one_clip(clip().with_scale(2.5)),
                "timeline.tracks[0].clips[0].scale",
            ),
            (
                one_clip(clip().with_opacity(1.1)),
                "timeline.tracks[0].clips[0].opacity",
            ),
            (
                one_clip(clip().with_opacity(f64::NAN)),
                "timeline.tracks[0].clips[0].opacity",
            ),
            (
                one_clip(Clip::new(Asset::image("x"), -1.0, 1.0)),
                "timeline.tracks[0].clips[0].start",
            ),
            (
                one_clip(Clip::new(Asset::image("x"), 0.0, -0.5)),
                "timeline.tracks[0].clips[0].length",
            ),
            (
                one_clip(Clip::new(Asset::image("x"), 0.0, 0.0)),
                "timeline.tracks[0].clips[0].length",
            ),
            (
                one_clip(Clip::new(
                    Asset::Video(VideoAsset {
                        src: "x".into(),
                        trim: Some(1.0),
                        volume: Some(1.5),
                    }),
                    0.0,
                    1.0,
                )),
                "timeline.tracks[0].clips[0].asset.volume",
            ),
            (
                one_clip(Clip::new(
                    Asset::Audio(AudioAsset {
                        src: "x".into(),
                        trim: Some(-1.0),
                        volume: None,
                        effect: None,
                    }),
                    0.0,
                    1.0,
                )),
                "timeline.tracks[0].clips[0].asset.trim",
            ),
            (
                one_clip(Clip::new(Asset::image("x"), 0.0, f64::INFINITY)),
                "timeline.tracks[0].clips[0].length",
            ),
            (
                one_clip(Clip::new(Asset::image(" "), 0.0, 1.0)),
                "timeline.tracks[0].clips[0].asset.src",
            ),
            (
                one_clip(Clip::new(Asset::title(""), 0.0, 1.0)),
                "timeline.tracks[0].clips[0].asset.text",
            ),
            (
                one_clip(Clip::new(Asset::html(""), 0.0, 1.0)),
                "timeline.tracks[0].clips[0].asset.html",
            ),
            (
                RenderRequest::builder()
                    .track(Track::new(vec![clip()]))
                    .track(Track::new(vec![
                        clip(),
                        Clip::new(Asset::audio(""), 0.0, 1.0),
                    ]))
                    .build(),
                "timeline.tracks[1].clips[1].asset.src",
            ),
            (
                RenderRequest::builder()
                    .track(Track::new(vec![clip()]))
                    .soundtrack(Soundtrack::new(""))
                    .build(),
                "timeline.soundtrack.src",
            ),
            (
                RenderRequest::builder()
                    .track(Track::new(vec![clip()]))
                    .callback("ftp://x/y")
                    .build(),
                "callback",
            ),
            (
                RenderRequest::builder()
                    .track(Track::new(vec![clip()]))
                    .callback("not a url")
                    .build(),
                "callback",
            ),
            (
                RenderRequest::builder()
                    .track(Track::new(vec![clip()]))
                    .output(RenderOutput::default().with_fps(0.0))
                    .build(),
                "output.fps",
            ),
        ];
        for (result, field) in cases {
            let err = result.unwrap_err();
            assert_eq!(err.field(), Some(field), "{err}");
            assert!(err.to_string().contains("vidiking"), "{err}");
            assert!(matches!(err, Error::InvalidInput { .. }));
        }
        // The edges of every range are allowed.
        one_clip(
            clip()
                .with_offset(-1.0, 1.0)
                .with_scale(2.0)
                .with_opacity(1.0),
        )
        .unwrap();
        one_clip(Clip::new(Asset::image("x"), 0.0, 0.001)).unwrap();
    }

    #[test]
    fn into_submit_request_carries_the_body() {
        let req = one_clip(clip()).unwrap();
        let sub = req.clone().into_submit_request().unwrap();
        assert_eq!(sub.body, req.to_body().unwrap());
        assert!(sub.key.is_none() && sub.tool.is_none());
    }
}
