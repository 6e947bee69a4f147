//! Every VideoGen tool as a typed request, validated before sending, plus the checks applied
//! to raw JSON bodies.
//!
//! Field names are snake_case in Rust and camelCase on the wire. Optional fields left `None`
//! (or empty lists) are not sent, so VideoGen applies its own defaults.

use mediajobs_core::{Error, Provider, SubmitRequest};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::generated;

/// The most results one execution may make (`numResults`).
pub const MAX_NUM_RESULTS: u32 = 100;
/// The most input images `generate-image` and `generate-video-clip` take (`imageFileIds`).
pub const MAX_IMAGE_FILE_IDS: usize = 4;

fn invalid(field: &str, message: impl Into<String>) -> Error {
    Error::InvalidInput {
        provider: Provider::VideoGen,
        field: field.to_string(),
        message: message.into(),
    }
}

/// Every tool's path name (`generate-image`, …), in the documented order.
pub fn tool_names() -> impl Iterator<Item = &'static str> {
    generated::TOOLS.iter().map(|(name, _, _)| *name)
}

/// The `toolType` VideoGen reports for a tool path name (`generate-image` → `GENERATE_IMAGE`).
pub fn tool_type_of(tool: &str) -> Option<&'static str> {
    generated::TOOLS
        .iter()
        .find(|(name, _, _)| *name == tool)
        .map(|(_, t, _)| *t)
}

/// The tool path name for a `toolType` (`GENERATE_IMAGE` → `generate-image`).
pub fn tool_name_of(tool_type: &str) -> Option<&'static str> {
    generated::TOOLS
        .iter()
        .find(|(_, t, _)| t.eq_ignore_ascii_case(tool_type))
        .map(|(name, _, _)| *name)
}

/// The main media kind of a tool's results (`IMAGE`, `VIDEO`, `AUDIO`).
pub fn tool_media(tool: &str) -> Option<&'static str> {
    generated::TOOLS
        .iter()
        .find(|(name, _, _)| *name == tool)
        .map(|(_, _, m)| *m)
}

/// Resolves a tool given by path name (`generate-image`) or by `toolType` (`GENERATE_IMAGE`,
/// `generate_image`); an unknown one is an [`Error::InvalidInput`] listing the known tools.
pub fn resolve_tool(tool: &str) -> Result<&'static str, Error> {
    let t = tool.trim();
    if let Some(name) = tool_names().find(|n| *n == t) {
        return Ok(name);
    }
    if let Some(name) = tool_name_of(t) {
        return Ok(name);
    }
    let known: Vec<&str> = tool_names().collect();
    Err(invalid(
        "tool",
        format!("unknown tool {t:?}; known tools: {}", known.join(", ")),
    ))
}

/// Who may see a watermark on the result (`watermarkMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WatermarkMode {
    /// VideoGen decides (its default).
    Auto,
    /// VideoGen's watermark.
    VideoGen,
    /// No watermark.
    None,
}

/// The quality tier (`quality`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Quality {
    /// Fastest, cheapest.
    Low,
    /// The middle.
    Standard,
    /// Better.
    High,
    /// Best.
    Max,
}

/// An aspect ratio as VideoGen takes it: an object `{width, height}` holding a ratio
/// (16 and 9), not pixels and not a `"16:9"` string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AspectRatio {
    /// The width part of the ratio.
    pub width: u32,
    /// The height part of the ratio.
    pub height: u32,
}

impl AspectRatio {
    /// A ratio `width:height`.
    pub fn new(width: u32, height: u32) -> Self {
        AspectRatio { width, height }
    }

    fn validate(&self, field: &str) -> Result<(), Error> {
        if self.width == 0 || self.height == 0 {
            return Err(invalid(field, "width and height must both be positive"));
        }
        Ok(())
    }
}

/// Options every tool takes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommonOptions {
    /// How many results to make, 1–100 (VideoGen's default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_results: Option<u32>,
    /// Whether the outputs are temporary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_output_temporary: Option<bool>,
    /// The watermark (VideoGen's default `AUTO`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark_mode: Option<WatermarkMode>,
}

impl CommonOptions {
    fn validate(&self) -> Result<(), Error> {
        if let Some(n) = self.num_results {
            if !(1..=MAX_NUM_RESULTS).contains(&n) {
                return Err(invalid(
                    "numResults",
                    format!("must be between 1 and {MAX_NUM_RESULTS}, got {n}"),
                ));
            }
        }
        Ok(())
    }
}

/// Builder-style setters for the options every tool takes.
pub trait ToolOptions: Sized {
    /// The options.
    fn common_mut(&mut self) -> &mut CommonOptions;

    /// Sets `numResults` (1–100).
    fn num_results(mut self, n: u32) -> Self {
        self.common_mut().num_results = Some(n);
        self
    }

    /// Sets `isOutputTemporary`.
    fn output_temporary(mut self, temporary: bool) -> Self {
        self.common_mut().is_output_temporary = Some(temporary);
        self
    }

    /// Sets `watermarkMode`.
    fn watermark(mut self, mode: WatermarkMode) -> Self {
        self.common_mut().watermark_mode = Some(mode);
        self
    }
}

fn required_text(field: &str, value: &str) -> Result<(), Error> {
    if value.trim().is_empty() {
        return Err(invalid(field, format!("{field} is required")));
    }
    Ok(())
}

fn optional_text(field: &str, value: &Option<String>) -> Result<(), Error> {
    match value {
        Some(v) if v.trim().is_empty() => Err(invalid(field, "must not be empty when given")),
        _ => Ok(()),
    }
}

fn file_ids(field: &str, ids: &[String], max: usize) -> Result<(), Error> {
    if ids.len() > max {
        return Err(invalid(
            field,
            format!("at most {max} files, got {}", ids.len()),
        ));
    }
    for (i, id) in ids.iter().enumerate() {
        if id.trim().is_empty() {
            return Err(invalid(&format!("{field}[{i}]"), "empty file id"));
        }
    }
    Ok(())
}

fn duration(field: &str, d: Option<u32>) -> Result<(), Error> {
    if d == Some(0) {
        return Err(invalid(field, "must be positive"));
    }
    Ok(())
}

macro_rules! tool_options {
    ($($t:ty),*) => {$(
        impl ToolOptions for $t {
            fn common_mut(&mut self) -> &mut CommonOptions {
                &mut self.common
            }
        }
    )*};
}

/// `generate-image`.
///
/// ```
/// use mediajobs_videogen::{GenerateImage, Quality, ToolOptions};
/// let req = GenerateImage::new("a lighthouse at dusk")
///     .aspect_ratio(16, 9)
///     .quality(Quality::High)
///     .num_results(2);
/// let body = serde_json::to_value(&req).unwrap();
/// assert_eq!(body["aspectRatio"], serde_json::json!({"width": 16, "height": 9}));
/// assert_eq!(body["numResults"], 2);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateImage {
    /// What to draw (required).
    pub prompt: String,
    /// Reference images (at most 4).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_file_ids: Vec<String>,
    /// The ratio (VideoGen's default 16:9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<AspectRatio>,
    /// The quality tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<Quality>,
    /// Options every tool takes.
    #[serde(flatten)]
    pub common: CommonOptions,
}

impl GenerateImage {
    /// A request for `prompt`.
    pub fn new(prompt: impl Into<String>) -> Self {
        GenerateImage {
            prompt: prompt.into(),
            image_file_ids: Vec::new(),
            aspect_ratio: None,
            quality: None,
            common: CommonOptions::default(),
        }
    }

    /// Adds a reference image.
    pub fn image_file_id(mut self, id: impl Into<String>) -> Self {
        self.image_file_ids.push(id.into());
        self
    }

    /// Sets the aspect ratio.
    pub fn aspect_ratio(mut self, width: u32, height: u32) -> Self {
        self.aspect_ratio = Some(AspectRatio::new(width, height));
        self
    }

    /// Sets the quality.
    pub fn quality(mut self, quality: Quality) -> Self {
        self.quality = Some(quality);
        self
    }

    fn validate(&self) -> Result<(), Error> {
        required_text("prompt", &self.prompt)?;
        file_ids("imageFileIds", &self.image_file_ids, MAX_IMAGE_FILE_IDS)?;
        if let Some(r) = &self.aspect_ratio {
            r.validate("aspectRatio")?;
        }
        self.common.validate()
    }
}

/// `generate-video-clip`: at least one of `prompt`, `image_file_ids`, `video_file_id`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateVideoClip {
    /// What to show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// Images to animate (at most 4).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_file_ids: Vec<String>,
    /// A video to start from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_file_id: Option<String>,
    /// Whether to add generated audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_audio: Option<bool>,
    /// The wanted duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u32>,
    /// The ratio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<AspectRatio>,
    /// The quality tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<Quality>,
    /// Options every tool takes.
    #[serde(flatten)]
    pub common: CommonOptions,
}

impl GenerateVideoClip {
    /// A clip from a prompt.
    pub fn from_prompt(prompt: impl Into<String>) -> Self {
        GenerateVideoClip {
            prompt: Some(prompt.into()),
            ..Default::default()
        }
    }

    /// A clip animating an image.
    pub fn from_image(image_file_id: impl Into<String>) -> Self {
        GenerateVideoClip {
            image_file_ids: vec![image_file_id.into()],
            ..Default::default()
        }
    }

    /// A clip from a video.
    pub fn from_video(video_file_id: impl Into<String>) -> Self {
        GenerateVideoClip {
            video_file_id: Some(video_file_id.into()),
            ..Default::default()
        }
    }

    /// Sets the duration.
    pub fn duration_seconds(mut self, seconds: u32) -> Self {
        self.duration_seconds = Some(seconds);
        self
    }

    /// Sets `generateAudio`.
    pub fn generate_audio(mut self, on: bool) -> Self {
        self.generate_audio = Some(on);
        self
    }

    /// Sets the aspect ratio.
    pub fn aspect_ratio(mut self, width: u32, height: u32) -> Self {
        self.aspect_ratio = Some(AspectRatio::new(width, height));
        self
    }

    /// Sets the quality.
    pub fn quality(mut self, quality: Quality) -> Self {
        self.quality = Some(quality);
        self
    }

    fn validate(&self) -> Result<(), Error> {
        let has_prompt = self.prompt.as_deref().is_some_and(|p| !p.trim().is_empty());
        if !has_prompt && self.image_file_ids.is_empty() && self.video_file_id.is_none() {
            return Err(invalid(
                "prompt",
                "at least one of prompt, imageFileIds, videoFileId is required",
            ));
        }
        optional_text("prompt", &self.prompt)?;
        file_ids("imageFileIds", &self.image_file_ids, MAX_IMAGE_FILE_IDS)?;
        optional_text("videoFileId", &self.video_file_id)?;
        duration("durationSeconds", self.duration_seconds)?;
        if let Some(r) = &self.aspect_ratio {
            r.validate("aspectRatio")?;
        }
        self.common.validate()
    }
}

/// `text-to-speech`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextToSpeech {
    /// What to say (required).
    pub tts_text: String,
    /// The voice; `None` sends nothing and VideoGen picks its default voice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_id: Option<String>,
    /// The language (e.g. `en-US`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speech_language_code: Option<String>,
    /// The speed factor (1.0 is normal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_speed: Option<f64>,
    /// Options every tool takes.
    #[serde(flatten)]
    pub common: CommonOptions,
}

impl TextToSpeech {
    /// Speech of `text` in the default voice.
    pub fn new(text: impl Into<String>) -> Self {
        TextToSpeech {
            tts_text: text.into(),
            voice_id: None,
            speech_language_code: None,
            voice_speed: None,
            common: CommonOptions::default(),
        }
    }

    /// Sets the voice.
    pub fn voice(mut self, voice_id: impl Into<String>) -> Self {
        self.voice_id = Some(voice_id.into());
        self
    }

    /// Sets the language code.
    pub fn language(mut self, code: impl Into<String>) -> Self {
        self.speech_language_code = Some(code.into());
        self
    }

    /// Sets the speed.
    pub fn speed(mut self, speed: f64) -> Self {
        self.voice_speed = Some(speed);
        self
    }

    fn validate(&self) -> Result<(), Error> {
        required_text("ttsText", &self.tts_text)?;
        optional_text("voiceId", &self.voice_id)?;
        optional_text("speechLanguageCode", &self.speech_language_code)?;
        if let Some(s) = self.voice_speed {
            if !(s.is_finite() && s > 0.0) {
                return Err(invalid("voiceSpeed", "must be a positive number"));
            }
        }
        self.common.validate()
    }
}

/// `generate-sound-effect` and `generate-music` (music is about 30 s whatever
/// `duration_seconds` says).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateAudio {
    /// What to hear (required).
    pub prompt: String,
    /// The wanted duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u32>,
    /// Options every tool takes.
    #[serde(flatten)]
    pub common: CommonOptions,
}

impl GenerateAudio {
    /// A sound or music for `prompt`.
    pub fn new(prompt: impl Into<String>) -> Self {
        GenerateAudio {
            prompt: prompt.into(),
            duration_seconds: None,
            common: CommonOptions::default(),
        }
    }

    /// Sets the duration.
    pub fn duration_seconds(mut self, seconds: u32) -> Self {
        self.duration_seconds = Some(seconds);
        self
    }

    fn validate(&self) -> Result<(), Error> {
        required_text("prompt", &self.prompt)?;
        duration("durationSeconds", self.duration_seconds)?;
        self.common.validate()
    }
}

/// `generate-motion-graphic`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateMotionGraphic {
    /// What to animate (required).
    pub prompt: String,
    /// The wanted duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u32>,
    /// The ratio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<AspectRatio>,
    /// Whether the background is transparent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transparent_background: Option<bool>,
    /// Options every tool takes.
    #[serde(flatten)]
    pub common: CommonOptions,
}

impl GenerateMotionGraphic {
    /// A motion graphic for `prompt`.
    pub fn new(prompt: impl Into<String>) -> Self {
        GenerateMotionGraphic {
            prompt: prompt.into(),
            duration_seconds: None,
            aspect_ratio: None,
            transparent_background: None,
            common: CommonOptions::default(),
        }
    }

    /// Sets the duration.
    pub fn duration_seconds(mut self, seconds: u32) -> Self {
        self.duration_seconds = Some(seconds);
        self
    }

    /// Sets the aspect ratio.
    pub fn aspect_ratio(mut self, width: u32, height: u32) -> Self {
        self.aspect_ratio = Some(AspectRatio::new(width, height));
        self
    }

    /// Sets `transparentBackground`.
    pub fn transparent_background(mut self, on: bool) -> Self {
        self.transparent_background = Some(on);
        self
    }

    fn validate(&self) -> Result<(), Error> {
        required_text("prompt", &self.prompt)?;
        duration("durationSeconds", self.duration_seconds)?;
        if let Some(r) = &self.aspect_ratio {
            r.validate("aspectRatio")?;
        }
        self.common.validate()
    }
}

/// `generate-avatar`: an actor speaking an audio file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateAvatar {
    /// The actor (older docs: `avatarPresenterId`).
    pub actor_entity_id: String,
    /// The speech (older docs: `audioStorageFileId`).
    pub audio_file_id: String,
    /// Options every tool takes.
    #[serde(flatten)]
    pub common: CommonOptions,
}

impl GenerateAvatar {
    /// `actor_entity_id` speaking `audio_file_id`.
    pub fn new(actor_entity_id: impl Into<String>, audio_file_id: impl Into<String>) -> Self {
        GenerateAvatar {
            actor_entity_id: actor_entity_id.into(),
            audio_file_id: audio_file_id.into(),
            common: CommonOptions::default(),
        }
    }

    fn validate(&self) -> Result<(), Error> {
        required_text("actorEntityId", &self.actor_entity_id)?;
        required_text("audioFileId", &self.audio_file_id)?;
        self.common.validate()
    }
}

/// The input of the single-image tools (`vectorize-image`, `remove-image-background`,
/// `upscale-image`, `image-3d-effect`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageInput {
    /// The image (older docs: `imageStorageFileId`).
    pub image_file_id: String,
    /// Options every tool takes.
    #[serde(flatten)]
    pub common: CommonOptions,
}

impl ImageInput {
    /// The image `image_file_id`.
    pub fn new(image_file_id: impl Into<String>) -> Self {
        ImageInput {
            image_file_id: image_file_id.into(),
            common: CommonOptions::default(),
        }
    }

    fn validate(&self) -> Result<(), Error> {
        required_text("imageFileId", &self.image_file_id)?;
        self.common.validate()
    }
}

/// The input of the single-video tools (`remove-video-background`, `upscale-video`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoInput {
    /// The video (older docs: `videoStorageFileId`).
    pub video_file_id: String,
    /// Options every tool takes.
    #[serde(flatten)]
    pub common: CommonOptions,
}

impl VideoInput {
    /// The video `video_file_id`.
    pub fn new(video_file_id: impl Into<String>) -> Self {
        VideoInput {
            video_file_id: video_file_id.into(),
            common: CommonOptions::default(),
        }
    }

    fn validate(&self) -> Result<(), Error> {
        required_text("videoFileId", &self.video_file_id)?;
        self.common.validate()
    }
}

tool_options!(
    GenerateImage,
    GenerateVideoClip,
    TextToSpeech,
    GenerateAudio,
    GenerateMotionGraphic,
    GenerateAvatar,
    ImageInput,
    VideoInput
);

/// A request for one of VideoGen's tools.
///
/// ```
/// use mediajobs_videogen::{ImageInput, ToolRequest};
/// let req = ToolRequest::UpscaleImage(ImageInput::new("vg_file_123"));
/// assert_eq!(req.tool(), "upscale-image");
/// let raw = req.to_submit_request().unwrap();
/// assert_eq!(raw.tool.as_deref(), Some("upscale-image"));
/// assert_eq!(raw.body, serde_json::json!({"imageFileId": "vg_file_123"}));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum ToolRequest {
    /// `generate-image`.
    GenerateImage(GenerateImage),
    /// `generate-video-clip`.
    GenerateVideoClip(GenerateVideoClip),
    /// `generate-motion-graphic`.
    GenerateMotionGraphic(GenerateMotionGraphic),
    /// `text-to-speech`.
    TextToSpeech(TextToSpeech),
    /// `generate-sound-effect`.
    GenerateSoundEffect(GenerateAudio),
    /// `generate-music`.
    GenerateMusic(GenerateAudio),
    /// `generate-avatar`.
    GenerateAvatar(GenerateAvatar),
    /// `vectorize-image`.
    VectorizeImage(ImageInput),
    /// `remove-image-background`.
    RemoveImageBackground(ImageInput),
    /// `remove-video-background`.
    RemoveVideoBackground(VideoInput),
    /// `upscale-image`.
    UpscaleImage(ImageInput),
    /// `upscale-video`.
    UpscaleVideo(VideoInput),
    /// `image-3d-effect`.
    Image3dEffect(ImageInput),
}

impl ToolRequest {
    /// The tool's path name.
    pub fn tool(&self) -> &'static str {
        match self {
            ToolRequest::GenerateImage(_) => "generate-image",
            ToolRequest::GenerateVideoClip(_) => "generate-video-clip",
            ToolRequest::GenerateMotionGraphic(_) => "generate-motion-graphic",
            ToolRequest::TextToSpeech(_) => "text-to-speech",
            ToolRequest::GenerateSoundEffect(_) => "generate-sound-effect",
            ToolRequest::GenerateMusic(_) => "generate-music",
            ToolRequest::GenerateAvatar(_) => "generate-avatar",
            ToolRequest::VectorizeImage(_) => "vectorize-image",
            ToolRequest::RemoveImageBackground(_) => "remove-image-background",
            ToolRequest::RemoveVideoBackground(_) => "remove-video-background",
            ToolRequest::UpscaleImage(_) => "upscale-image",
            ToolRequest::UpscaleVideo(_) => "upscale-video",
            ToolRequest::Image3dEffect(_) => "image-3d-effect",
        }
    }

    /// Checks required fields and ranges; the error names the (camelCase) field.
    pub fn validate(&self) -> Result<(), Error> {
        match self {
            ToolRequest::GenerateImage(r) => r.validate(),
            ToolRequest::GenerateVideoClip(r) => r.validate(),
            ToolRequest::GenerateMotionGraphic(r) => r.validate(),
            ToolRequest::TextToSpeech(r) => r.validate(),
            ToolRequest::GenerateSoundEffect(r) | ToolRequest::GenerateMusic(r) => r.validate(),
            ToolRequest::GenerateAvatar(r) => r.validate(),
            ToolRequest::VectorizeImage(r)
            | ToolRequest::RemoveImageBackground(r)
            | ToolRequest::UpscaleImage(r)
            | ToolRequest::Image3dEffect(r) => r.validate(),
            ToolRequest::RemoveVideoBackground(r) | ToolRequest::UpscaleVideo(r) => r.validate(),
        }
    }

    /// The JSON body, unvalidated.
    pub fn body(&self) -> Result<Value, Error> {
        let v = match self {
            ToolRequest::GenerateImage(r) => serde_json::to_value(r),
            ToolRequest::GenerateVideoClip(r) => serde_json::to_value(r),
            ToolRequest::GenerateMotionGraphic(r) => serde_json::to_value(r),
            ToolRequest::TextToSpeech(r) => serde_json::to_value(r),
            ToolRequest::GenerateSoundEffect(r) | ToolRequest::GenerateMusic(r) => {
                serde_json::to_value(r)
            }
            ToolRequest::GenerateAvatar(r) => serde_json::to_value(r),
            ToolRequest::VectorizeImage(r)
            | ToolRequest::RemoveImageBackground(r)
            | ToolRequest::UpscaleImage(r)
            | ToolRequest::Image3dEffect(r) => serde_json::to_value(r),
            ToolRequest::RemoveVideoBackground(r) | ToolRequest::UpscaleVideo(r) => {
                serde_json::to_value(r)
            }
        };
        // Only a non-finite voiceSpeed can fail to serialize, and validate() refuses it.
        v.map_err(|e| invalid("body", e.to_string()))
    }

    /// Validates, then gives the raw request the client sends.
    pub fn to_submit_request(&self) -> Result<SubmitRequest, Error> {
        self.validate()?;
        Ok(SubmitRequest::new(self.body()?).with_tool(self.tool()))
    }
}

macro_rules! into_request {
    ($($t:ty => $v:ident),*) => {$(
        impl From<$t> for ToolRequest {
            fn from(r: $t) -> Self {
                ToolRequest::$v(r)
            }
        }
    )*};
}

into_request!(
    GenerateImage => GenerateImage,
    GenerateVideoClip => GenerateVideoClip,
    GenerateMotionGraphic => GenerateMotionGraphic,
    TextToSpeech => TextToSpeech,
    GenerateAvatar => GenerateAvatar
);

// ---- raw bodies -------------------------------------------------------------------------

fn present(body: &Value, field: &str) -> bool {
    match body.get(field) {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    }
}

fn require_any(body: &Value, fields: &[&str]) -> Result<(), Error> {
    if fields.iter().any(|f| present(body, f)) {
        return Ok(());
    }
    let field = fields.first().copied().unwrap_or("body");
    let message = if fields.len() == 1 {
        format!("{field} is required")
    } else {
        format!("one of {} is required", fields.join(", "))
    };
    Err(invalid(field, message))
}

/// Checks a raw body for `tool` (already resolved): a JSON object, the tool's required fields
/// (older field names accepted), the types of the shared fields (text fields are strings,
/// `quality` one of its four words, `aspectRatio` a `{width, height}` object), `numResults`
/// 1–100 and at most 4 `imageFileIds`. Fields it does not know pass through untouched.
pub(crate) fn validate_raw(tool: &str, body: &Value) -> Result<(), Error> {
    if !body.is_object() {
        return Err(invalid("body", "must be a JSON object"));
    }
    if let Some(n) = body.get("numResults").filter(|v| !v.is_null()) {
        match n.as_u64() {
            Some(n) if (1..=u64::from(MAX_NUM_RESULTS)).contains(&n) => {}
            _ => {
                return Err(invalid(
                    "numResults",
                    format!("must be an integer between 1 and {MAX_NUM_RESULTS}, got {n}"),
                ));
            }
        }
    }
    // The documented types of the fields every tool shares, so that a batch checked whole
    // (`run --strict`) refuses what VideoGen would refuse with `invalid_parameters`.
    let given = |field: &str| body.get(field).filter(|v| !v.is_null());
    for field in ["prompt", "ttsText", "voiceId", "speechLanguageCode"] {
        if given(field).is_some_and(|v| !v.is_string()) {
            return Err(invalid(field, "must be a string"));
        }
    }
    if let Some(v) = given("quality") {
        if serde_json::from_value::<Quality>(v.clone()).is_err() {
            return Err(invalid(
                "quality",
                format!("must be one of LOW, STANDARD, HIGH, MAX, got {v}"),
            ));
        }
    }
    if let Some(v) = given("aspectRatio") {
        let ok = serde_json::from_value::<AspectRatio>(v.clone())
            .is_ok_and(|r| r.width > 0 && r.height > 0);
        if !ok {
            return Err(invalid(
                "aspectRatio",
                format!(
                    "must be an object {{width, height}} of positive integers (e.g. 16 and 9), got {v}"
                ),
            ));
        }
    }
    if let Some(ids) = body.get("imageFileIds").and_then(Value::as_array) {
        if ids.len() > MAX_IMAGE_FILE_IDS {
            return Err(invalid(
                "imageFileIds",
                format!("at most {MAX_IMAGE_FILE_IDS} files, got {}", ids.len()),
            ));
        }
    }
    match tool {
        "generate-image"
        | "generate-sound-effect"
        | "generate-music"
        | "generate-motion-graphic" => require_any(body, &["prompt"]),
        "generate-video-clip" => require_any(body, &["prompt", "imageFileIds", "videoFileId"]),
        "text-to-speech" => require_any(body, &["ttsText"]),
        "generate-avatar" => {
            require_any(body, &["actorEntityId", "avatarPresenterId"])?;
            require_any(body, &["audioFileId", "audioStorageFileId"])
        }
        "vectorize-image" | "remove-image-background" | "upscale-image" | "image-3d-effect" => {
            require_any(body, &["imageFileId", "imageStorageFileId"])
        }
        "remove-video-background" | "upscale-video" => {
            require_any(body, &["videoFileId", "videoStorageFileId"])
        }
        _ => Ok(()),
    }
}

/// The documented request fields, to name the field an `invalid_parameters` message blames.
pub(crate) const FIELDS: &[&str] = &[
    "prompt",
    "imageFileIds",
    "aspectRatio",
    "quality",
    "videoFileId",
    "generateAudio",
    "durationSeconds",
    "ttsText",
    "voiceId",
    "speechLanguageCode",
    "voiceSpeed",
    "transparentBackground",
    "actorEntityId",
    "audioFileId",
    "avatarPresenterId",
    "audioStorageFileId",
    "imageFileId",
    "videoFileId",
    "imageStorageFileId",
    "videoStorageFileId",
    "numResults",
    "isOutputTemporary",
    "watermarkMode",
    "limit",
    "cursor",
    "selfOnly",
    "url",
    "events",
];

/// The first documented field named as a whole word in `message` (e.g. "prompt is required").
pub(crate) fn field_in_message(message: &str) -> Option<&'static str> {
    message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find_map(|word| FIELDS.iter().find(|f| **f == word).copied())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn field_of(e: Error) -> String {
        match e {
            Error::InvalidInput { field, .. } => field,
            other => panic!("not an input error: {other}"),
        }
    }

    #[test]
    fn every_tool_serializes_camel_case() {
        let img = GenerateImage::new("cat")
            .image_file_id("vg_file_1")
            .aspect_ratio(1, 1)
            .quality(Quality::Max)
            .num_results(3)
            .output_temporary(true)
            .watermark(WatermarkMode::VideoGen);
        assert_eq!(
            ToolRequest::from(img).body().unwrap(),
            json!({"prompt": "cat", "imageFileIds": ["vg_file_1"], "aspectRatio": {"width": 1, "height": 1},
                   "quality": "MAX", "numResults": 3, "isOutputTemporary": true, "watermarkMode": "VIDEO_GEN"})
        );
        let clip = GenerateVideoClip::from_prompt("waves")
            .duration_seconds(5)
            .generate_audio(true)
            .aspect_ratio(9, 16)
            .quality(Quality::Low)
            .watermark(WatermarkMode::None);
        assert_eq!(
            ToolRequest::from(clip).body().unwrap(),
            json!({"prompt": "waves", "generateAudio": true, "durationSeconds": 5,
                   "aspectRatio": {"width": 9, "height": 16}, "quality": "LOW", "watermarkMode": "NONE"})
        );
        let tts = TextToSpeech::new("hello").language("en-US").speed(1.25);
        assert_eq!(
            ToolRequest::from(tts).body().unwrap(),
            json!({"ttsText": "hello", "speechLanguageCode": "en-US", "voiceSpeed": 1.25})
        );
        let tts = TextToSpeech::new("hello").voice("v_1");
        assert_eq!(ToolRequest::from(tts).body().unwrap()["voiceId"], "v_1");
        let mg = GenerateMotionGraphic::new("logo")
            .transparent_background(true)
            .duration_seconds(4)
            .aspect_ratio(16, 9);
        assert_eq!(
            ToolRequest::from(mg).body().unwrap(),
            json!({"prompt": "logo", "durationSeconds": 4, "aspectRatio": {"width": 16, "height": 9},
                   "transparentBackground": true})
        );
        let av = GenerateAvatar::new("actor_1", "vg_file_a");
        assert_eq!(
            ToolRequest::from(av).body().unwrap(),
            json!({"actorEntityId": "actor_1", "audioFileId": "vg_file_a"})
        );
        let sfx = ToolRequest::GenerateSoundEffect(GenerateAudio::new("boom").duration_seconds(2));
        assert_eq!(
            sfx.body().unwrap(),
            json!({"prompt": "boom", "durationSeconds": 2})
        );
        assert_eq!(sfx.tool(), "generate-sound-effect");
        let music = ToolRequest::GenerateMusic(GenerateAudio::new("jazz"));
        assert_eq!(music.tool(), "generate-music");
        for (req, tool) in [
            (
                ToolRequest::VectorizeImage(ImageInput::new("f")),
                "vectorize-image",
            ),
            (
                ToolRequest::RemoveImageBackground(ImageInput::new("f")),
                "remove-image-background",
            ),
            (
                ToolRequest::UpscaleImage(ImageInput::new("f")),
                "upscale-image",
            ),
            (
                ToolRequest::Image3dEffect(ImageInput::new("f")),
                "image-3d-effect",
            ),
        ] {
            assert_eq!(req.body().unwrap(), json!({"imageFileId": "f"}));
            assert_eq!(req.tool(), tool);
            assert!(tool_type_of(tool).is_some());
        }
        for (req, tool) in [
            (
                ToolRequest::RemoveVideoBackground(VideoInput::new("v")),
                "remove-video-background",
            ),
            (
                ToolRequest::UpscaleVideo(VideoInput::new("v")),
                "upscale-video",
            ),
        ] {
            assert_eq!(req.body().unwrap(), json!({"videoFileId": "v"}));
            assert_eq!(req.tool(), tool);
            assert!(tool_type_of(tool).is_some());
        }
    }

    #[test]
    fn validation_names_the_field() {
        let bad = |r: ToolRequest| field_of(r.validate().unwrap_err());
        assert_eq!(bad(GenerateImage::new("  ").into()), "prompt");
        let mut five = GenerateImage::new("x");
        for i in 0..5 {
            five = five.image_file_id(format!("f{i}"));
        }
        assert_eq!(bad(five.into()), "imageFileIds");
        assert_eq!(
            bad(GenerateImage::new("x").num_results(0).into()),
            "numResults"
        );
        assert_eq!(
            bad(GenerateImage::new("x").num_results(101).into()),
            "numResults"
        );
        assert!(
            ToolRequest::from(GenerateImage::new("x").num_results(100))
                .validate()
                .is_ok()
        );
        assert_eq!(
            bad(GenerateImage::new("x").aspect_ratio(0, 9).into()),
            "aspectRatio"
        );
        assert_eq!(bad(GenerateVideoClip::default().into()), "prompt");
        assert!(
            ToolRequest::from(GenerateVideoClip::from_image("f"))
                .validate()
                .is_ok()
        );
        assert!(
            ToolRequest::from(GenerateVideoClip::from_video("v"))
                .validate()
                .is_ok()
        );
        assert_eq!(
            bad(GenerateVideoClip::from_prompt("x")
                .duration_seconds(0)
                .into()),
            "durationSeconds"
        );
        assert_eq!(bad(TextToSpeech::new("").into()), "ttsText");
        assert_eq!(
            bad(TextToSpeech::new("hi").speed(f64::NAN).into()),
            "voiceSpeed"
        );
        assert_eq!(bad(TextToSpeech::new("hi").speed(0.0).into()), "voiceSpeed");
        assert_eq!(bad(TextToSpeech::new("hi").voice("").into()), "voiceId");
        assert_eq!(bad(GenerateMotionGraphic::new("").into()), "prompt");
        assert_eq!(
            bad(ToolRequest::GenerateMusic(GenerateAudio::new(""))),
            "prompt"
        );
        assert_eq!(bad(GenerateAvatar::new("", "a").into()), "actorEntityId");
        assert_eq!(bad(GenerateAvatar::new("a", "").into()), "audioFileId");
        assert_eq!(
            bad(ToolRequest::UpscaleImage(ImageInput::new(""))),
            "imageFileId"
        );
        assert_eq!(
            bad(ToolRequest::UpscaleVideo(VideoInput::new(""))),
            "videoFileId"
        );
        let e = ToolRequest::from(GenerateImage::new(""))
            .to_submit_request()
            .unwrap_err();
        assert!(e.to_string().contains("prompt"), "{e}");
    }

    #[test]
    fn tools_resolve_by_name_or_type_and_unknown_ones_list_the_known() {
        assert_eq!(tool_names().count(), 13);
        assert_eq!(resolve_tool("generate-image").unwrap(), "generate-image");
        assert_eq!(
            resolve_tool("GENERATE_VIDEO_CLIP").unwrap(),
            "generate-video-clip"
        );
        assert_eq!(resolve_tool("image_3d_effect").unwrap(), "image-3d-effect");
        assert_eq!(tool_media("text-to-speech"), Some("AUDIO"));
        let e = resolve_tool("make-coffee").unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("make-coffee") && text.contains("upscale-video"),
            "{text}"
        );
        assert_eq!(e.field(), Some("tool"));
    }

    #[test]
    fn raw_bodies_are_checked_leniently() {
        let ok = |t, b| validate_raw(t, &b).is_ok();
        let bad = |t, b| field_of(validate_raw(t, &b).unwrap_err());
        assert!(ok(
            "generate-image",
            json!({"prompt": "x", "somethingNew": 1})
        ));
        assert_eq!(bad("generate-image", json!({"prompt": ""})), "prompt");
        assert_eq!(bad("generate-image", json!([])), "body");
        assert_eq!(
            bad("generate-image", json!({"prompt": "x", "numResults": 0})),
            "numResults"
        );
        assert_eq!(
            bad("generate-image", json!({"prompt": "x", "numResults": "2"})),
            "numResults"
        );
        assert_eq!(
            bad(
                "generate-image",
                json!({"prompt": "x", "imageFileIds": [1, 2, 3, 4, 5]})
            ),
            "imageFileIds"
        );
        assert!(ok("generate-video-clip", json!({"videoFileId": "v"})));
        assert_eq!(bad("generate-video-clip", json!({})), "prompt");
        assert_eq!(bad("text-to-speech", json!({"voiceId": null})), "ttsText");
        assert!(ok(
            "generate-avatar",
            json!({"avatarPresenterId": "a", "audioStorageFileId": "b"})
        ));
        assert_eq!(
            bad("generate-avatar", json!({"actorEntityId": "a"})),
            "audioFileId"
        );
        assert!(ok("upscale-image", json!({"imageStorageFileId": "f"})));
        assert_eq!(
            bad("upscale-video", json!({"imageFileId": "f"})),
            "videoFileId"
        );
    }

    #[test]
    fn fields_are_found_in_messages() {
        assert_eq!(field_in_message("prompt is required"), Some("prompt"));
        assert_eq!(
            field_in_message("Invalid value for numResults: 0"),
            Some("numResults")
        );
        assert_eq!(field_in_message("something broke"), None);
    }
}
