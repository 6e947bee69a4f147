//! The narrated-slideshow request (`POST /v1/real-estate/narrated-slideshow`) and its
//! validation.
//!
//! The typed [`NarratedSlideshow`] and the raw [`SubmitRequest`] escape hatch are checked by the
//! same rules ([`validate_body`]): whatever the documented rules say about a field that is
//! present is caught before anything is sent, with [`Error::InvalidInput`] naming the field.

use std::collections::HashSet;
use std::fmt;

use mediajobs_core::{Error, Provider, SubmitRequest};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// The fewest images a slideshow takes \[doc\].
pub const MIN_IMAGES: usize = 6;
/// The most images a slideshow takes \[doc\].
pub const MAX_IMAGES: usize = 15;
/// The shortest script, in characters per image \[doc\]: 6 images need at least 240.
pub const MIN_SCRIPT_CHARS_PER_IMAGE: usize = 40;
/// The longest script, in characters per image \[doc\]: 6 images allow at most 300.
pub const MAX_SCRIPT_CHARS_PER_IMAGE: usize = 50;
/// The punctuation a script may contain besides letters and whitespace: the basic marks
/// `. , ; : ! ? ' " ( ) -` and their typographic forms (curly quotes `‘ ’ “ ”`, en and em
/// dashes `– —`).
pub const SCRIPT_PUNCTUATION: &str = ".,;:!?'\"()-\u{2019}\u{2018}\u{201C}\u{201D}\u{2013}\u{2014}";

/// The image file extensions accepted when a URL's last path segment has one: VibePeak takes
/// JPEG, PNG and WebP \[doc\]. A URL without an extension is left to the provider.
pub const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "webp"];

pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
    Error::InvalidInput {
        provider: Provider::VibePeak,
        field: field.into(),
        message: message.into(),
    }
}

/// Whether `c` may appear in a script.
///
/// VibePeak documents "no numbers or special symbols". mediajobs reads that as: letters of any
/// script, accented ones included (Unicode `Alphabetic`, in composed form), whitespace, and
/// the punctuation in [`SCRIPT_PUNCTUATION`]. Digits of any script, currency and maths signs,
/// `@ # % & * / _ + = < > [ ] { } | \ ~ ^`, guillemets, the ellipsis character (write `...`),
/// combining accents (compose the text first) and emoji are refused.
///
/// ```
/// use mediajobs_vibepeak::script_char_allowed;
/// assert!("Élégant, lumineux: l'idéal!".chars().all(script_char_allowed));
/// assert!(!script_char_allowed('3'));
/// assert!(!script_char_allowed('$'));
/// ```
pub fn script_char_allowed(c: char) -> bool {
    if c.is_numeric() {
        return false;
    }
    c.is_alphabetic() || c.is_whitespace() || SCRIPT_PUNCTUATION.contains(c)
}

/// The inclusive range of script lengths (in characters) allowed with `images` images.
pub fn script_length_range(images: usize) -> std::ops::RangeInclusive<usize> {
    images * MIN_SCRIPT_CHARS_PER_IMAGE..=images * MAX_SCRIPT_CHARS_PER_IMAGE
}

/// The narration voice \[doc\]: `{voice_id, language?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Voice {
    /// The voice's id (e.g. from the VibePeak dashboard).
    pub voice_id: String,
    /// The narration language, a BCP-47 tag such as `en` or `pt-BR` \[assumed\]; the provider's
    /// default (`en` \[assumed\]) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl Voice {
    /// A voice by id, in the provider's default language.
    pub fn new(voice_id: impl Into<String>) -> Self {
        Voice {
            voice_id: voice_id.into(),
            language: None,
        }
    }

    /// Sets the language (BCP-47, e.g. `en`, `fr`, `pt-BR`).
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }
}

/// The video's orientation \[doc\]; by default the first image's, else landscape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Orientation {
    /// Wider than high.
    Landscape,
    /// Higher than wide.
    Portrait,
}

impl Orientation {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Orientation::Landscape => "landscape",
            Orientation::Portrait => "portrait",
        }
    }
}

/// How the images are arranged \[doc\]; `artistic` by default. Only `sequential` keeps their
/// order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrchestrationMode {
    /// The provider's standard arrangement.
    Standard,
    /// The provider's artistic arrangement (the default).
    Artistic,
    /// The images in the order given.
    Sequential,
}

impl OrchestrationMode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrchestrationMode::Standard => "standard",
            OrchestrationMode::Artistic => "artistic",
            OrchestrationMode::Sequential => "sequential",
        }
    }
}

/// Subtitles \[doc\]: `{subtitle_style_preset}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subtitle {
    /// The style preset, e.g. `classic`.
    pub subtitle_style_preset: String,
}

impl Subtitle {
    /// Subtitles in a style preset (e.g. `classic`).
    pub fn preset(preset: impl Into<String>) -> Self {
        Subtitle {
            subtitle_style_preset: preset.into(),
        }
    }
}

/// A size in `elements_config`: the docs name the field but not its type, so both a number
/// and a named size (e.g. `"small"`) are accepted \[assumed\].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ElementSize {
    /// A number (pixels or a fraction, as the provider reads it).
    Number(f64),
    /// A named size.
    Named(String),
}

impl From<f64> for ElementSize {
    fn from(v: f64) -> Self {
        ElementSize::Number(v)
    }
}

impl From<u32> for ElementSize {
    fn from(v: u32) -> Self {
        ElementSize::Number(f64::from(v))
    }
}

impl From<&str> for ElementSize {
    fn from(v: &str) -> Self {
        ElementSize::Named(v.to_string())
    }
}

/// A watermark image over the video \[doc\]: `{url, position, size, opacity}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Watermark {
    /// The watermark image's URL (http or https).
    pub url: String,
    /// Where it sits (e.g. `top-right`) \[assumed: free text\].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    /// How large it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<ElementSize>,
    /// Its opacity, 0 to 1 \[assumed\].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opacity: Option<f64>,
}

impl Watermark {
    /// A watermark from an image URL.
    pub fn new(url: impl Into<String>) -> Self {
        Watermark {
            url: url.into(),
            position: None,
            size: None,
            opacity: None,
        }
    }

    /// Sets the position.
    pub fn position(mut self, position: impl Into<String>) -> Self {
        self.position = Some(position.into());
        self
    }

    /// Sets the size.
    pub fn size(mut self, size: impl Into<ElementSize>) -> Self {
        self.size = Some(size.into());
        self
    }

    /// Sets the opacity (0 to 1).
    pub fn opacity(mut self, opacity: f64) -> Self {
        self.opacity = Some(opacity);
        self
    }
}

/// A text overlay \[doc\]: `{content, color, font, size, position}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextElement {
    /// The text shown.
    pub content: String,
    /// Its colour (e.g. `#FFFFFF`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Its font.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub font: Option<String>,
    /// Its size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<ElementSize>,
    /// Where it sits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
}

impl TextElement {
    /// A text overlay.
    pub fn new(content: impl Into<String>) -> Self {
        TextElement {
            content: content.into(),
            color: None,
            font: None,
            size: None,
            position: None,
        }
    }

    /// Sets the colour.
    pub fn color(mut self, color: impl Into<String>) -> Self {
        self.color = Some(color.into());
        self
    }

    /// Sets the font.
    pub fn font(mut self, font: impl Into<String>) -> Self {
        self.font = Some(font.into());
        self
    }

    /// Sets the size.
    pub fn size(mut self, size: impl Into<ElementSize>) -> Self {
        self.size = Some(size.into());
        self
    }

    /// Sets the position.
    pub fn position(mut self, position: impl Into<String>) -> Self {
        self.position = Some(position.into());
        self
    }
}

/// Overlays \[doc\]: `{enabled, watermark, text}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ElementsConfig {
    /// Whether the overlays are drawn.
    pub enabled: bool,
    /// A watermark image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<Watermark>,
    /// A text overlay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextElement>,
}

impl ElementsConfig {
    /// Enabled overlays, none yet.
    pub fn enabled() -> Self {
        ElementsConfig {
            enabled: true,
            watermark: None,
            text: None,
        }
    }

    /// Sets the watermark.
    pub fn watermark(mut self, watermark: Watermark) -> Self {
        self.watermark = Some(watermark);
        self
    }

    /// Sets the text overlay.
    pub fn text(mut self, text: TextElement) -> Self {
        self.text = Some(text);
        self
    }
}

/// What a test-mode task should do (`test_scenario`, test keys only \[doc\]). The values are
/// \[assumed\]; [`TestScenario::Other`] sends any other word as is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TestScenario {
    /// Complete normally (the default).
    Success,
    /// Fail with `IMAGE_PROCESSING_FAILED`.
    ImageProcessingFailed,
    /// Take longer than usual.
    Slow,
    /// Another scenario, sent verbatim.
    Other(String),
}

impl TestScenario {
    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            TestScenario::Success => "success",
            TestScenario::ImageProcessingFailed => "image_processing_failed",
            TestScenario::Slow => "slow",
            TestScenario::Other(s) => s,
        }
    }

    /// Reads a wire name.
    pub fn parse(s: &str) -> TestScenario {
        match s {
            "success" => TestScenario::Success,
            "image_processing_failed" => TestScenario::ImageProcessingFailed,
            "slow" => TestScenario::Slow,
            other => TestScenario::Other(other.to_string()),
        }
    }
}

impl fmt::Display for TestScenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for TestScenario {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TestScenario {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(TestScenario::parse(&String::deserialize(d)?))
    }
}

/// A narrated real-estate slideshow: the body of `POST /v1/real-estate/narrated-slideshow`
/// with every documented field.
///
/// Build it with [`NarratedSlideshow::builder`], which validates; turn it into the core's
/// [`SubmitRequest`] with `.into()` (the `webhook_url` travels in
/// [`SubmitRequest::webhook_url`]), or submit it with
/// [`crate::VibePeakClient::submit_slideshow`].
///
/// ```
/// use mediajobs_core::SubmitRequest;
/// use mediajobs_vibepeak::{NarratedSlideshow, OrchestrationMode, Voice};
///
/// let images: Vec<String> = (1..=6).map(|i| format!("https://example.com/room{i}.jpg")).collect();
/// let script = "Welcome to this bright family home with an open kitchen. ".repeat(5);
/// let show = NarratedSlideshow::builder()
///     .images(images)
///     .voice(Voice::new("voice_rachel").language("en"))
///     .script(script.trim())
///     .orchestration_mode(OrchestrationMode::Sequential)
///     .webhook_url("https://example.com/webhooks/vibepeak")
///     .build()?;
/// let request: SubmitRequest = show.into();
/// assert_eq!(request.webhook_url.as_deref(), Some("https://example.com/webhooks/vibepeak"));
/// assert_eq!(request.body["orchestration_mode"], "sequential");
///
/// // Five images are too few: the error names the field.
/// let err = NarratedSlideshow::builder()
///     .images(vec!["https://example.com/a.jpg"; 5])
///     .voice(Voice::new("v"))
///     .script("x")
///     .build()
///     .unwrap_err();
/// assert_eq!(err.field(), Some("images"));
/// # Ok::<(), mediajobs_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NarratedSlideshow {
    /// 6–15 unique, publicly reachable http(s) image URLs (JPEG, PNG or WebP) \[doc\].
    pub images: Vec<String>,
    /// The narration voice \[doc\].
    pub voice: Voice,
    /// The narration: 40–50 characters per image, no numbers or special symbols \[doc\] (see
    /// [`script_char_allowed`]).
    pub script: String,
    /// Landscape or portrait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orientation: Option<Orientation>,
    /// How the images are arranged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orchestration_mode: Option<OrchestrationMode>,
    /// Whether to add background music (provider default \[assumed\]: no).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_music: Option<bool>,
    /// A presenter avatar, a UUID v4 \[doc\].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_id: Option<String>,
    /// Subtitles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<Subtitle>,
    /// Watermark and text overlays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elements_config: Option<ElementsConfig>,
    /// Where VibePeak POSTs `task.completed` / `task.failed` (https \[doc\]; plain http only to
    /// a loopback host, for the simulator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// A test scenario; test keys only \[doc\].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_scenario: Option<TestScenario>,
    /// Fields this type does not know yet, sent as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl NarratedSlideshow {
    /// A builder.
    pub fn builder() -> NarratedSlideshowBuilder {
        NarratedSlideshowBuilder::default()
    }

    /// The JSON body, `webhook_url` included.
    pub fn to_body(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// Checks every documented rule that does not depend on the key (see [`validate_body`]).
    pub fn validate(&self) -> Result<(), Error> {
        validate_body(&self.to_body())
    }
}

impl From<NarratedSlideshow> for SubmitRequest {
    fn from(show: NarratedSlideshow) -> SubmitRequest {
        let mut body = show.to_body();
        let webhook_url = match body.as_object_mut().and_then(|o| o.remove("webhook_url")) {
            Some(Value::String(url)) => Some(url),
            _ => None,
        };
        SubmitRequest {
            tool: None,
            body,
            key: None,
            webhook_url,
        }
    }
}

/// Builds a [`NarratedSlideshow`]; [`NarratedSlideshowBuilder::build`] validates it.
#[derive(Debug, Clone, Default)]
pub struct NarratedSlideshowBuilder {
    images: Vec<String>,
    voice: Option<Voice>,
    script: Option<String>,
    orientation: Option<Orientation>,
    orchestration_mode: Option<OrchestrationMode>,
    background_music: Option<bool>,
    avatar_id: Option<String>,
    subtitle: Option<Subtitle>,
    elements_config: Option<ElementsConfig>,
    webhook_url: Option<String>,
    test_scenario: Option<TestScenario>,
    extra: Map<String, Value>,
}

impl NarratedSlideshowBuilder {
    /// Sets the images (replacing any given before).
    pub fn images<I, S>(mut self, images: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.images = images.into_iter().map(Into::into).collect();
        self
    }

    /// Adds one image.
    pub fn image(mut self, url: impl Into<String>) -> Self {
        self.images.push(url.into());
        self
    }

    /// Sets the voice.
    pub fn voice(mut self, voice: Voice) -> Self {
        self.voice = Some(voice);
        self
    }

    /// Sets the voice by id, in the default language.
    pub fn voice_id(self, voice_id: impl Into<String>) -> Self {
        self.voice(Voice::new(voice_id))
    }

    /// Sets the script.
    pub fn script(mut self, script: impl Into<String>) -> Self {
        self.script = Some(script.into());
        self
    }

    /// Sets the orientation.
    pub fn orientation(mut self, orientation: Orientation) -> Self {
        self.orientation = Some(orientation);
        self
    }

    /// Sets the orchestration mode.
    pub fn orchestration_mode(mut self, mode: OrchestrationMode) -> Self {
        self.orchestration_mode = Some(mode);
        self
    }

    /// Turns background music on or off.
    pub fn background_music(mut self, on: bool) -> Self {
        self.background_music = Some(on);
        self
    }

    /// Sets the avatar (a UUID v4).
    pub fn avatar_id(mut self, avatar_id: impl Into<String>) -> Self {
        self.avatar_id = Some(avatar_id.into());
        self
    }

    /// Sets the subtitles.
    pub fn subtitle(mut self, subtitle: Subtitle) -> Self {
        self.subtitle = Some(subtitle);
        self
    }

    /// Sets the overlays.
    pub fn elements_config(mut self, config: ElementsConfig) -> Self {
        self.elements_config = Some(config);
        self
    }

    /// Sets the per-task webhook URL.
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }

    /// Sets a test scenario (test keys only).
    pub fn test_scenario(mut self, scenario: TestScenario) -> Self {
        self.test_scenario = Some(scenario);
        self
    }

    /// Adds a field this type does not know, sent as given.
    pub fn extra(mut self, name: impl Into<String>, value: Value) -> Self {
        self.extra.insert(name.into(), value);
        self
    }

    /// The request, validated (see [`validate_body`]); `voice` and `script` are required.
    pub fn build(self) -> Result<NarratedSlideshow, Error> {
        let voice = self
            .voice
            .ok_or_else(|| invalid("voice", "a voice is required: {voice_id, language?}"))?;
        let script = self
            .script
            .ok_or_else(|| invalid("script", "a script is required"))?;
        let show = NarratedSlideshow {
            images: self.images,
            voice,
            script,
            orientation: self.orientation,
            orchestration_mode: self.orchestration_mode,
            background_music: self.background_music,
            avatar_id: self.avatar_id,
            subtitle: self.subtitle,
            elements_config: self.elements_config,
            webhook_url: self.webhook_url,
            test_scenario: self.test_scenario,
            extra: self.extra,
        };
        show.validate()?;
        Ok(show)
    }
}

/// Checks a request body against every documented rule that does not depend on the key, for
/// each field that is present:
///
/// - `images`: an array of 6–15 unique http(s) URLs (`images`, or `images[i]` for one entry);
/// - `script`: a string of 40×–50× as many characters (Unicode scalar values) as there are
///   images, made only of [`script_char_allowed`] characters;
/// - `voice`: an object with a non-empty string `voice_id` (`voice.voice_id`) and, if given, a
///   BCP-47-shaped `language` (`voice.language`);
/// - `orientation`, `orchestration_mode`: one of the documented values;
/// - `background_music`: a boolean; `avatar_id`: a UUID v4;
/// - `subtitle`, `elements_config`: objects of the documented shape (watermark URL, opacity
///   0–1, non-empty text content);
/// - `webhook_url`: an https URL (plain http only to `localhost` or a loopback address);
/// - `test_scenario`: a string (whether the key may use it is checked at submit).
///
/// A missing field is left to the provider, so that the raw escape hatch can send shapes the
/// types do not know.
pub fn validate_body(body: &Value) -> Result<(), Error> {
    let Some(obj) = body.as_object() else {
        return Err(invalid("body", "the request body must be a JSON object"));
    };
    let mut image_count = None;
    if let Some(images) = obj.get("images") {
        image_count = Some(validate_images(images)?);
    }
    if let Some(script) = obj.get("script") {
        validate_script(script, image_count)?;
    }
    if let Some(voice) = obj.get("voice") {
        validate_voice(voice)?;
    }
    if let Some(v) = obj.get("orientation") {
        one_of(v, "orientation", &["landscape", "portrait"])?;
    }
    if let Some(v) = obj.get("orchestration_mode") {
        one_of(
            v,
            "orchestration_mode",
            &["standard", "artistic", "sequential"],
        )?;
    }
    if let Some(v) = obj.get("background_music") {
        if !v.is_boolean() {
            return Err(invalid("background_music", "must be true or false"));
        }
    }
    if let Some(v) = obj.get("avatar_id") {
        match v.as_str() {
            Some(s) if is_uuid_v4(s) => {}
            _ => {
                return Err(invalid(
                    "avatar_id",
                    format!(
                        "must be a UUID v4 (xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx), got {v}"
                    ),
                ));
            }
        }
    }
    if let Some(v) = obj.get("subtitle") {
        validate_subtitle(v)?;
    }
    if let Some(v) = obj.get("elements_config") {
        validate_elements(v)?;
    }
    if let Some(v) = obj.get("webhook_url") {
        match v.as_str() {
            Some(url) => validate_webhook_url(url)?,
            None => return Err(invalid("webhook_url", "must be a URL string")),
        }
    }
    if let Some(v) = obj.get("test_scenario") {
        if !v.is_string() {
            return Err(invalid(
                "test_scenario",
                "must be a string (e.g. \"success\")",
            ));
        }
    }
    Ok(())
}

fn validate_images(images: &Value) -> Result<usize, Error> {
    let Some(list) = images.as_array() else {
        return Err(invalid(
            "images",
            format!("must be an array of {MIN_IMAGES}–{MAX_IMAGES} image URLs"),
        ));
    };
    if !(MIN_IMAGES..=MAX_IMAGES).contains(&list.len()) {
        return Err(invalid(
            "images",
            format!(
                "{} images given; a slideshow takes {MIN_IMAGES}–{MAX_IMAGES}",
                list.len()
            ),
        ));
    }
    let mut seen = HashSet::new();
    for (i, v) in list.iter().enumerate() {
        let field = format!("images[{i}]");
        let Some(url) = v.as_str() else {
            return Err(invalid(field, "must be a URL string"));
        };
        let parsed = check_http_url(url).map_err(|m| invalid(field.clone(), m))?;
        let last = parsed
            .path_segments()
            .and_then(|mut s| s.next_back())
            .unwrap_or("");
        if let Some((_, ext)) = last.rsplit_once('.') {
            if !IMAGE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()) {
                return Err(invalid(
                    field,
                    format!("{url:?} is not a JPEG, PNG or WebP image (.{ext})"),
                ));
            }
        }
        if !seen.insert(url.trim()) {
            return Err(invalid(
                field,
                format!("duplicate image {url:?}: images must be unique"),
            ));
        }
    }
    Ok(list.len())
}

fn check_http_url(url: &str) -> Result<url::Url, String> {
    let parsed =
        url::Url::parse(url.trim()).map_err(|e| format!("{url:?} is not a valid URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("{url:?} must be an http or https URL"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("{url:?} has no host"));
    }
    Ok(parsed)
}

fn validate_script(script: &Value, image_count: Option<usize>) -> Result<(), Error> {
    let Some(text) = script.as_str() else {
        return Err(invalid("script", "must be a string"));
    };
    if text.trim().is_empty() {
        return Err(invalid("script", "must not be empty"));
    }
    if let Some((pos, c)) = text
        .chars()
        .enumerate()
        .find(|(_, c)| !script_char_allowed(*c))
    {
        let what = if c.is_numeric() {
            "numbers"
        } else {
            "special symbols"
        };
        return Err(invalid(
            "script",
            format!(
                "character {c:?} at position {pos}: {what} are not allowed (only letters, \
                 whitespace and {SCRIPT_PUNCTUATION}); write numbers as words"
            ),
        ));
    }
    if let Some(n) = image_count {
        let len = text.chars().count();
        let range = script_length_range(n);
        if !range.contains(&len) {
            let (lo, hi) = (range.start(), range.end());
            let how = if len < *lo { "too short" } else { "too long" };
            return Err(invalid(
                "script",
                format!(
                    "{how}: {len} characters; with {n} images it must be {lo}–{hi} \
                     ({MIN_SCRIPT_CHARS_PER_IMAGE}–{MAX_SCRIPT_CHARS_PER_IMAGE} per image)"
                ),
            ));
        }
    }
    Ok(())
}

fn validate_voice(voice: &Value) -> Result<(), Error> {
    let Some(obj) = voice.as_object() else {
        return Err(invalid("voice", "must be an object {voice_id, language?}"));
    };
    match obj.get("voice_id").and_then(Value::as_str) {
        Some(id) if !id.trim().is_empty() => {}
        _ => {
            return Err(invalid(
                "voice.voice_id",
                "a non-empty voice_id is required",
            ));
        }
    }
    if let Some(lang) = obj.get("language") {
        match lang.as_str() {
            Some(l) if is_language_tag(l) => {}
            _ => {
                return Err(invalid(
                    "voice.language",
                    format!(
                        "must be a BCP-47 language tag such as \"en\" or \"pt-BR\", got {lang}"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A BCP-47-shaped tag: a 2–3 letter language subtag, then `-`-separated 1–8 character
/// alphanumeric subtags (`en`, `en-US`, `zh-Hant-TW`).
fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    primary_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn one_of(v: &Value, field: &str, allowed: &[&str]) -> Result<(), Error> {
    match v.as_str() {
        Some(s) if allowed.contains(&s) => Ok(()),
        _ => Err(invalid(
            field,
            format!("must be one of {allowed:?}, got {v}"),
        )),
    }
}

/// Whether `s` is a UUID of version 4 (RFC 4122 variant), in the canonical hyphenated form.
pub fn is_uuid_v4(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 36 {
        return false;
    }
    let shape = b.iter().enumerate().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => *c == b'-',
        _ => c.is_ascii_hexdigit(),
    });
    shape
        && b.get(14) == Some(&b'4')
        && matches!(b.get(19), Some(b'8' | b'9' | b'a' | b'b' | b'A' | b'B'))
}

fn validate_subtitle(v: &Value) -> Result<(), Error> {
    let Some(obj) = v.as_object() else {
        return Err(invalid(
            "subtitle",
            "must be an object {subtitle_style_preset}",
        ));
    };
    if let Some(p) = obj.get("subtitle_style_preset") {
        if p.as_str().is_none_or(|s| s.trim().is_empty()) {
            return Err(invalid(
                "subtitle.subtitle_style_preset",
                "must be a non-empty string such as \"classic\"",
            ));
        }
    }
    Ok(())
}

fn validate_elements(v: &Value) -> Result<(), Error> {
    let Some(obj) = v.as_object() else {
        return Err(invalid(
            "elements_config",
            "must be an object {enabled, watermark, text}",
        ));
    };
    if let Some(e) = obj.get("enabled") {
        if !e.is_boolean() {
            return Err(invalid("elements_config.enabled", "must be true or false"));
        }
    }
    if let Some(w) = obj.get("watermark") {
        let Some(w) = w.as_object() else {
            return Err(invalid(
                "elements_config.watermark",
                "must be an object {url, position, size, opacity}",
            ));
        };
        if let Some(url) = w.get("url") {
            let url = url
                .as_str()
                .ok_or_else(|| invalid("elements_config.watermark.url", "must be a URL string"))?;
            check_http_url(url).map_err(|m| invalid("elements_config.watermark.url", m))?;
        }
        if let Some(o) = w.get("opacity") {
            if !o.as_f64().is_some_and(|o| (0.0..=1.0).contains(&o)) {
                return Err(invalid(
                    "elements_config.watermark.opacity",
                    format!("must be a number from 0 to 1, got {o}"),
                ));
            }
        }
    }
    if let Some(t) = obj.get("text") {
        let Some(t) = t.as_object() else {
            return Err(invalid(
                "elements_config.text",
                "must be an object {content, color, font, size, position}",
            ));
        };
        if let Some(c) = t.get("content") {
            if c.as_str().is_none_or(|s| s.trim().is_empty()) {
                return Err(invalid(
                    "elements_config.text.content",
                    "must be a non-empty string",
                ));
            }
        }
    }
    Ok(())
}

/// `https`, or plain `http` to `localhost` or a loopback address (the simulator).
pub(crate) fn validate_webhook_url(url: &str) -> Result<(), Error> {
    let parsed = check_http_url(url).map_err(|m| invalid("webhook_url", m))?;
    if parsed.scheme() == "https" {
        return Ok(());
    }
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if loopback {
        Ok(())
    } else {
        Err(invalid(
            "webhook_url",
            format!("{url:?} must be an https URL (plain http only to a loopback host)"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn images(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("https://img.example.com/{i}.jpg"))
            .collect()
    }

    fn script(len: usize) -> String {
        let base = "Sunny rooms, a quiet garden and a kitchen made for friends. ";
        base.chars().cycle().take(len).collect()
    }

    fn builder(n: usize, len: usize) -> NarratedSlideshowBuilder {
        NarratedSlideshow::builder()
            .images(images(n))
            .voice(Voice::new("voice_1"))
            .script(script(len))
    }

    fn field_of(r: Result<NarratedSlideshow, Error>) -> String {
        match r {
            Err(Error::InvalidInput {
                field, provider, ..
            }) => {
                assert_eq!(provider, Provider::VibePeak);
                field
            }
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn image_count_bounds() {
        assert_eq!(field_of(builder(5, 240).build()), "images");
        assert_eq!(field_of(builder(16, 700).build()), "images");
        assert!(builder(6, 240).build().is_ok());
        assert!(builder(15, 600).build().is_ok());
        assert_eq!(field_of(builder(0, 240).build()), "images");
    }

    #[test]
    fn images_unique_and_http() {
        let mut imgs = images(6);
        imgs[4] = imgs[1].clone();
        let r = builder(6, 240).images(imgs).build();
        let err = r.unwrap_err();
        assert_eq!(err.field(), Some("images[4]"));
        assert!(err.to_string().contains("unique"), "{err}");
        for bad in [
            "ftp://x.example/a.jpg",
            "not a url",
            "file:///etc/passwd",
            "http://",
        ] {
            let mut imgs = images(6);
            imgs[2] = bad.to_string();
            assert_eq!(
                field_of(builder(6, 240).images(imgs).build()),
                "images[2]",
                "{bad}"
            );
        }
        let mut imgs = images(6);
        imgs[0] = "http://plain.example.com/a.png".into();
        imgs[1] = "https://cdn.example.com/photo/123?w=800".into();
        imgs[2] = "https://cdn.example.com/x/HALL.JPEG".into();
        imgs[3] = "https://cdn.example.com/x/y.webp#frag".into();
        assert!(builder(6, 240).images(imgs).build().is_ok());
    }

    #[test]
    fn script_length_window_scales_with_images() {
        assert_eq!(script_length_range(6), 240..=300);
        assert_eq!(script_length_range(15), 600..=750);
        assert_eq!(field_of(builder(6, 239).build()), "script");
        assert!(builder(6, 240).build().is_ok());
        assert!(builder(6, 300).build().is_ok());
        let err = builder(6, 301).build().unwrap_err();
        assert!(err.to_string().contains("too long"), "{err}");
        assert!(err.to_string().contains("240–300"), "{err}");
        let err = builder(10, 300).build().unwrap_err();
        assert!(err.to_string().contains("too short"), "{err}");
        assert!(builder(10, 400).build().is_ok());
    }

    #[test]
    fn script_length_counts_characters_not_bytes() {
        // 240 accented characters: 480 bytes, still within 240–300.
        let s: String = "é".repeat(240);
        assert!(builder(6, 0).script(s).build().is_ok());
    }

    #[test]
    fn script_characters() {
        let guillemets = "Élégant appartement, lumineux; idéal: «non»? ";
        assert!(
            !guillemets.chars().all(script_char_allowed),
            "guillemets are not in the list"
        );
        let ok = "Élégant appartement, lumineux; idéal! \"Oui\" (vraiment) - l'été “great” — ok.\n";
        assert!(ok.chars().all(script_char_allowed));
        // Decomposed accents and the ellipsis character are refused.
        assert!(!script_char_allowed('\u{301}'));
        assert!(!script_char_allowed('…'));
        assert!("Ωραίο σπίτι Дом".chars().all(script_char_allowed));
        for bad in [
            '3', '٣', '½', '$', '€', '%', '&', '@', '#', '*', '/', '+', '=', '<', '_', '😀', '[',
            '~',
        ] {
            assert!(!script_char_allowed(bad), "{bad:?}");
        }
        let mut s = script(240);
        s.replace_range(10..11, "7");
        let err = builder(6, 0).script(s).build().unwrap_err();
        assert_eq!(err.field(), Some("script"));
        assert!(err.to_string().contains("numbers"), "{err}");
        assert!(err.to_string().contains("position 10"), "{err}");
        let mut s = script(240);
        s.replace_range(10..11, "&");
        let err = builder(6, 0).script(s).build().unwrap_err();
        assert!(err.to_string().contains("special symbols"), "{err}");
    }

    #[test]
    fn voice_and_script_required_and_checked() {
        let r = NarratedSlideshow::builder()
            .images(images(6))
            .script(script(240))
            .build();
        assert_eq!(field_of(r), "voice");
        let r = NarratedSlideshow::builder()
            .images(images(6))
            .voice_id("v")
            .build();
        assert_eq!(field_of(r), "script");
        assert_eq!(
            field_of(builder(6, 240).voice_id(" ").build()),
            "voice.voice_id"
        );
        for lang in ["en", "pt-BR", "zh-Hant-TW", "fil", "en-US"] {
            assert!(
                builder(6, 240)
                    .voice(Voice::new("v").language(lang))
                    .build()
                    .is_ok(),
                "{lang}"
            );
        }
        for lang in ["", "e", "english", "english language", "en_US", "12"] {
            let r = builder(6, 240)
                .voice(Voice::new("v").language(lang))
                .build();
            assert_eq!(field_of(r), "voice.language", "{lang}");
        }
    }

    #[test]
    fn avatar_must_be_uuid_v4() {
        let good = "3f2b8c9e-1d4a-4b6f-9a2e-7c5d8e9f0a1b";
        assert!(is_uuid_v4(good));
        assert!(is_uuid_v4(&good.to_uppercase()));
        assert!(builder(6, 240).avatar_id(good).build().is_ok());
        for bad in [
            "3f2b8c9e-1d4a-1b6f-9a2e-7c5d8e9f0a1b", // version 1
            "3f2b8c9e-1d4a-4b6f-7a2e-7c5d8e9f0a1b", // wrong variant
            "3f2b8c9e1d4a4b6f9a2e7c5d8e9f0a1b",
            "avatar_123",
            "3f2b8c9e-1d4a-4b6f-9a2e-7c5d8e9f0a1g",
            "",
        ] {
            assert!(!is_uuid_v4(bad), "{bad}");
            assert_eq!(
                field_of(builder(6, 240).avatar_id(bad).build()),
                "avatar_id"
            );
        }
    }

    #[test]
    fn webhook_url_https_or_loopback_http() {
        for ok in [
            "https://hooks.example.com/vibepeak",
            "http://127.0.0.1:8080/webhooks/vibepeak",
            "http://localhost/x",
            "http://[::1]:9/x",
        ] {
            assert!(builder(6, 240).webhook_url(ok).build().is_ok(), "{ok}");
        }
        for bad in ["http://hooks.example.com/x", "ftp://x/y", "nope"] {
            assert_eq!(
                field_of(builder(6, 240).webhook_url(bad).build()),
                "webhook_url",
                "{bad}"
            );
        }
    }

    #[test]
    fn elements_config_checks() {
        let cfg = ElementsConfig::enabled()
            .watermark(
                Watermark::new("https://x.example/logo.png")
                    .position("top-right")
                    .size(0.2)
                    .opacity(0.5),
            )
            .text(
                TextElement::new("Open house Sunday")
                    .color("#FFFFFF")
                    .font("Inter")
                    .size("large")
                    .position("bottom"),
            );
        let show = builder(6, 240)
            .elements_config(cfg.clone())
            .build()
            .unwrap();
        let body = show.to_body();
        assert_eq!(body["elements_config"]["watermark"]["opacity"], 0.5);
        assert_eq!(body["elements_config"]["text"]["size"], "large");
        assert_eq!(body["elements_config"]["enabled"], true);
        let mut bad = cfg.clone();
        bad.watermark = Some(Watermark::new("https://x.example/l.png").opacity(1.5));
        assert_eq!(
            field_of(builder(6, 240).elements_config(bad).build()),
            "elements_config.watermark.opacity"
        );
        let mut bad = cfg.clone();
        bad.watermark = Some(Watermark::new("logo.png"));
        assert_eq!(
            field_of(builder(6, 240).elements_config(bad).build()),
            "elements_config.watermark.url"
        );
        let mut bad = cfg;
        bad.text = Some(TextElement::new(""));
        assert_eq!(
            field_of(builder(6, 240).elements_config(bad).build()),
            "elements_config.text.content"
        );
    }

    #[test]
    fn every_field_on_the_wire_and_into_submit_request() {
        let show = builder(6, 240)
            .voice(Voice::new("voice_1").language("fr"))
            .orientation(Orientation::Portrait)
            .orchestration_mode(OrchestrationMode::Sequential)
            .background_music(true)
            .avatar_id("3f2b8c9e-1d4a-4b6f-9a2e-7c5d8e9f0a1b")
            .subtitle(Subtitle::preset("classic"))
            .elements_config(ElementsConfig::enabled())
            .webhook_url("https://hooks.example.com/v")
            .test_scenario(TestScenario::ImageProcessingFailed)
            .extra("future_field", json!({"a": 1}))
            .build()
            .unwrap();
        let body = show.to_body();
        assert_eq!(body["images"].as_array().unwrap().len(), 6);
        assert_eq!(
            body["voice"],
            json!({"voice_id": "voice_1", "language": "fr"})
        );
        assert_eq!(body["orientation"], "portrait");
        assert_eq!(body["orchestration_mode"], "sequential");
        assert_eq!(body["background_music"], true);
        assert_eq!(body["avatar_id"], "3f2b8c9e-1d4a-4b6f-9a2e-7c5d8e9f0a1b");
        assert_eq!(
            body["subtitle"],
            json!({"subtitle_style_preset": "classic"})
        );
        assert_eq!(body["elements_config"], json!({"enabled": true}));
        assert_eq!(body["webhook_url"], "https://hooks.example.com/v");
        assert_eq!(body["test_scenario"], "image_processing_failed");
        assert_eq!(body["future_field"], json!({"a": 1}));
        let back: NarratedSlideshow = serde_json::from_value(body).unwrap();
        assert_eq!(back, show);

        let req: SubmitRequest = show.into();
        assert_eq!(
            req.webhook_url.as_deref(),
            Some("https://hooks.example.com/v")
        );
        assert!(req.body.get("webhook_url").is_none());
        assert_eq!(req.tool, None);

        let minimal = builder(6, 240).build().unwrap().to_body();
        let keys: Vec<_> = minimal.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["images", "script", "voice"]);
        assert_eq!(
            TestScenario::parse("weird"),
            TestScenario::Other("weird".into())
        );
        assert_eq!(TestScenario::parse("slow").to_string(), "slow");
    }

    #[test]
    fn raw_bodies_are_checked_where_fields_are_present() {
        assert!(validate_body(&json!({})).is_ok());
        assert_eq!(validate_body(&json!([])).unwrap_err().field(), Some("body"));
        let cases = [
            (json!({"images": "https://x/a.jpg"}), "images"),
            (json!({"images": [1, 2, 3, 4, 5, 6]}), "images[0]"),
            (json!({"images": images(6), "script": "short"}), "script"),
            (json!({"script": "Has 3 digits"}), "script"),
            (json!({"script": 42}), "script"),
            (json!({"voice": "rachel"}), "voice"),
            (json!({"voice": {}}), "voice.voice_id"),
            (
                json!({"voice": {"voice_id": "v", "language": 7}}),
                "voice.language",
            ),
            (json!({"orientation": "square"}), "orientation"),
            (
                json!({"orchestration_mode": "random"}),
                "orchestration_mode",
            ),
            (json!({"background_music": "yes"}), "background_music"),
            (json!({"avatar_id": 12}), "avatar_id"),
            (json!({"subtitle": "classic"}), "subtitle"),
            (
                json!({"subtitle": {"subtitle_style_preset": ""}}),
                "subtitle.subtitle_style_preset",
            ),
            (json!({"elements_config": true}), "elements_config"),
            (
                json!({"elements_config": {"enabled": "yes"}}),
                "elements_config.enabled",
            ),
            (
                json!({"elements_config": {"watermark": []}}),
                "elements_config.watermark",
            ),
            (
                json!({"elements_config": {"text": 1}}),
                "elements_config.text",
            ),
            (json!({"webhook_url": 5}), "webhook_url"),
            (json!({"test_scenario": true}), "test_scenario"),
        ];
        for (body, field) in cases {
            let err = validate_body(&body).unwrap_err();
            assert_eq!(err.field(), Some(field), "{body}: {err}");
        }
        // Without images, the script's characters are still checked but its length is not.
        assert!(validate_body(&json!({"script": "A short script."})).is_ok());
    }
}
