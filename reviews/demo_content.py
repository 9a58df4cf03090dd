"""The demo hospital's people and conversations, for `manage.py seed_demo`. Data only.

Each `Scenario` is one inquiry as a patient and a doctor's avatar would write it, in
English or Simplified Chinese, with what a doctor does when it is reviewed: a corrected
answer (its draft then has a flaw a doctor should catch) or a reply after taking over.
The command decides which scenario becomes which case; the portal's own rules decide
the status and urgency on ingest, so every text here is written to be decided the way
its `urgency` says (tests check that against the live triage and draft guard).

Placeholders filled per case from the patient it is given to: `{weeks}` (gestation),
`{months}` (an infant's age), `{age}` (years), and `{days}` (how long, drawn per case).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoDoctor:
    key: str  # the e-mail's local part: doctor1 -> doctor1@<slug>.example
    full_name: str
    specialty: str  # a DoctorProfile.Specialty value
    licence_number: str
    avatar_name: str


@dataclass(frozen=True)
class DemoPatient:
    ref: str  # the platform's patient reference; the portal keeps only its keyed hash
    specialty: str  # whose avatar this patient writes to
    language: str  # "en" or "zh-hans": a patient writes in one language
    kind: str  # "pregnant", "postpartum", "infant", "child" or "adult"
    sex: str  # a Patient.Sex value
    age: int  # years, for the birth year
    weeks: int | None = None  # gestation, for pregnant patients
    months: int | None = None  # age in months, for infants


@dataclass(frozen=True)
class Scenario:
    specialty: str
    urgency: str  # what ingest should decide: "emergency", "urgent", "soon" or "routine"
    language: str
    kind: str  # the kind of patient the story fits
    patient: str  # the first patient message
    draft: str  # the avatar's answer
    # A second patient message and the avatar's answer to it, for longer conversations.
    follow_up: tuple[str, str] | None = None
    # As the avatar platform sends it: (code, reason).
    avatar_flag: tuple[str, str] | None = None
    # (Decision.Category value, the doctor's corrected answer): the draft has a flaw.
    correction: tuple[str, str] | None = None
    # What the doctor writes after taking the conversation over.
    reply: str = ""
    # The gestation (weeks) or infant age (months) the story fits, inclusive.
    weeks: tuple[int, int] | None = None
    months: tuple[int, int] | None = None

    def fits(self, patient: DemoPatient) -> bool:
        """Whether the story can be told by this patient (specialty, language, kind, stage)."""

        def within(value: int | None, bounds: tuple[int, int] | None) -> bool:
            return bounds is None or (value is not None and bounds[0] <= value <= bounds[1])

        return (
            (patient.specialty, patient.language, patient.kind) == (self.specialty, self.language, self.kind)
            and within(patient.weeks, self.weeks)
            and within(patient.months, self.months)
        )


HOSPITAL_ADMIN_NAME = "Zhou Min"

DOCTORS: tuple[DemoDoctor, ...] = (
    DemoDoctor("doctor1", "Chen Jing", "obstetrics", "110440100031276", "Dr Chen Jing's AI avatar"),
    DemoDoctor("doctor2", "Wang Lei", "paediatrics", "110440100057813", "Dr Wang Lei's AI avatar"),
    DemoDoctor("doctor3", "Liu Yang", "general_practice", "110440100024590", "Dr Liu Yang's AI avatar"),
)

OB = "obstetrics"
PAED = "paediatrics"
GP = "general_practice"
EN = "en"
ZH = "zh-hans"


@dataclass(frozen=True)
class DemoVisit:
    day: int  # 0 today, 1 tomorrow
    hour: int  # local time
    minute: int
    reason: int  # which of the specialty's VISIT_REASONS


# In-person visits per doctor, each with one of the patients who wrote to the doctor's
# avatar most, so that every pre-visit summary has a history to show.
VISITS: tuple[DemoVisit, ...] = (
    DemoVisit(0, 9, 0, 0),
    DemoVisit(0, 10, 30, 1),
    DemoVisit(0, 14, 0, 2),
    DemoVisit(1, 9, 30, 0),
    DemoVisit(1, 11, 0, 1),
)
VISIT_REASONS: dict[str, tuple[str, ...]] = {
    OB: ("Routine antenatal check", "Follow-up of questions to the avatar", "Review of recent symptoms"),
    PAED: ("Child health check", "Follow-up of questions to the avatar", "Review of recent symptoms"),
    GP: ("Annual check-up", "Follow-up of questions to the avatar", "Medication review"),
}

PATIENTS: tuple[DemoPatient, ...] = (
    # Obstetrics: pregnant women at different stages, and two recent mothers per language.
    DemoPatient("demo-patient-01", OB, EN, "pregnant", "female", 29, weeks=9),
    DemoPatient("demo-patient-02", OB, EN, "pregnant", "female", 33, weeks=12),
    DemoPatient("demo-patient-03", OB, EN, "pregnant", "female", 27, weeks=22),
    DemoPatient("demo-patient-04", OB, EN, "pregnant", "female", 35, weeks=30),
    DemoPatient("demo-patient-05", OB, EN, "pregnant", "female", 31, weeks=36),
    DemoPatient("demo-patient-06", OB, EN, "postpartum", "female", 30),
    DemoPatient("demo-patient-07", OB, EN, "postpartum", "female", 26),
    DemoPatient("demo-patient-08", OB, ZH, "pregnant", "female", 28, weeks=7),
    DemoPatient("demo-patient-09", OB, ZH, "pregnant", "female", 32, weeks=13),
    DemoPatient("demo-patient-10", OB, ZH, "pregnant", "female", 26, weeks=24),
    DemoPatient("demo-patient-11", OB, ZH, "pregnant", "female", 34, weeks=32),
    DemoPatient("demo-patient-12", OB, ZH, "pregnant", "female", 30, weeks=37),
    DemoPatient("demo-patient-13", OB, ZH, "postpartum", "female", 29),
    DemoPatient("demo-patient-14", OB, ZH, "postpartum", "female", 36),
    # Paediatrics: the parents write; the patient is the child.
    DemoPatient("demo-patient-15", PAED, EN, "infant", "female", 0, months=1),
    DemoPatient("demo-patient-16", PAED, EN, "infant", "male", 0, months=2),
    DemoPatient("demo-patient-17", PAED, EN, "infant", "male", 0, months=5),
    DemoPatient("demo-patient-18", PAED, EN, "infant", "female", 0, months=9),
    DemoPatient("demo-patient-19", PAED, EN, "child", "male", 3),
    DemoPatient("demo-patient-20", PAED, EN, "child", "female", 5),
    DemoPatient("demo-patient-21", PAED, EN, "child", "male", 8),
    DemoPatient("demo-patient-22", PAED, ZH, "infant", "male", 0, months=1),
    DemoPatient("demo-patient-23", PAED, ZH, "infant", "female", 0, months=2),
    DemoPatient("demo-patient-24", PAED, ZH, "infant", "female", 0, months=6),
    DemoPatient("demo-patient-25", PAED, ZH, "infant", "male", 0, months=10),
    DemoPatient("demo-patient-26", PAED, ZH, "child", "female", 4),
    DemoPatient("demo-patient-27", PAED, ZH, "child", "male", 7),
    DemoPatient("demo-patient-28", PAED, ZH, "child", "male", 3),
    # General practice: adults of all ages.
    DemoPatient("demo-patient-29", GP, EN, "adult", "male", 58),
    DemoPatient("demo-patient-30", GP, EN, "adult", "female", 34),
    DemoPatient("demo-patient-31", GP, EN, "adult", "male", 41),
    DemoPatient("demo-patient-32", GP, EN, "adult", "female", 67),
    DemoPatient("demo-patient-33", GP, EN, "adult", "male", 25),
    DemoPatient("demo-patient-34", GP, EN, "adult", "female", 49),
    DemoPatient("demo-patient-35", GP, ZH, "adult", "male", 63),
    DemoPatient("demo-patient-36", GP, ZH, "adult", "female", 38),
    DemoPatient("demo-patient-37", GP, ZH, "adult", "male", 45),
    DemoPatient("demo-patient-38", GP, ZH, "adult", "female", 71),
    DemoPatient("demo-patient-39", GP, ZH, "adult", "male", 29),
    DemoPatient("demo-patient-40", GP, ZH, "adult", "female", 52),
)


SCENARIOS: tuple[Scenario, ...] = (
    # ------------------------------------------------------------------ Obstetrics, English
    Scenario(
        specialty=OB,
        urgency="emergency",
        language=EN,
        kind="pregnant",
        weeks=(28, 40),
        patient=(
            "I'm {weeks} weeks pregnant and I've suddenly started bleeding heavily, bright red, it has "
            "soaked a pad in half an hour. My belly is hard and hurts all the time, not just with "
            "tightenings."
        ),
        draft=(
            "Heavy bright red bleeding with constant pain at {weeks} weeks can mean the placenta is "
            "separating from the womb, which is an emergency for you and your baby. Please call 120 now "
            "or have someone take you straight to the nearest hospital with a maternity unit; do not wait "
            "to see if it settles. Lie on your left side while you wait, don't eat or drink, and bring "
            "your pregnancy record book. If you feel faint or the baby stops moving, tell the ambulance "
            "crew straight away."
        ),
        avatar_flag=("bleeding", "Heavy vaginal bleeding with constant abdominal pain, third trimester"),
        reply=(
            "This is Dr Chen. I have read your message: please go to the emergency department now, by "
            "ambulance (120) with this much bleeding, not by taxi. I have told the labour ward to expect "
            "you. Tell the midwife at triage how many pads you have used and when the pain started. "
            "Message me here if anything changes on the way."
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="emergency",
        language=EN,
        kind="postpartum",
        patient=(
            "I had a caesarean 10 days ago. Since this morning I get a sharp pain in my chest when I "
            "breathe in, and I'm short of breath just walking to the bathroom. My left calf has been sore "
            "and swollen for two days."
        ),
        draft=(
            "Feeling breathless and sore is common while you recover from a caesarean, and calf aches can "
            "come from being less active than usual. Try to walk a little every few hours, keep your legs "
            "raised when resting and drink plenty of fluids. If it isn't better in a couple of days, book "
            "a check-up at the postnatal clinic."
        ),
        correction=(
            "should_escalate",
            (
                "Chest pain when breathing in, breathlessness and a swollen, painful calf after a caesarean "
                "can mean a blood clot in the leg that has moved to the lungs (pulmonary embolism). This "
                "needs to be checked today, not in a few days. Please call 120 or go to the emergency "
                "department now and tell them you had a caesarean 10 days ago. Don't massage the calf. If the "
                "breathlessness gets worse, you cough up blood or you feel faint, call 120 immediately."
            ),
        ),
        reply=(
            "This is Dr Chen. Your symptoms need to be checked today, please don't wait. Go to the "
            "emergency department now, or call 120 if you are alone or the breathlessness is getting "
            "worse. Tell them you are 10 days after a caesarean with chest pain, breathlessness and a "
            "swollen calf, so they check for a blood clot. Send me a message once you have been seen."
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="emergency",
        language=EN,
        kind="pregnant",
        weeks=(24, 40),
        patient=(
            "My wife is {weeks} weeks pregnant. She had a terrible headache all afternoon and said her "
            "vision was blurry, and just now she had a seizure, her arms and legs were jerking for about "
            "a minute. She's awake now but confused."
        ),
        draft=(
            "A seizure in pregnancy after a severe headache and blurred vision can be eclampsia, which is "
            "life-threatening for mother and baby. Call 120 immediately. Lay her on her left side, move "
            "anything she could hurt herself on, and do not put anything in her mouth. If another seizure "
            "starts, note the time it starts and stops. Don't drive her yourself if an ambulance can come "
            "quickly."
        ),
        avatar_flag=("seizure", "Seizure in pregnancy after headache and visual disturbance"),
        reply=(
            "This is Dr Chen. Please call 120 now if you have not already: she needs a hospital with a "
            "maternity unit straight away. Keep her on her left side and stay with her. Tell the "
            "ambulance crew she is {weeks} weeks pregnant and had a severe headache before the seizure. I "
            "have let the labour ward know."
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="urgent",
        language=EN,
        kind="pregnant",
        weeks=(26, 40),
        patient=(
            "I'm {weeks} weeks and the baby is moving less than usual today. Normally she kicks a lot "
            "after dinner, but tonight I've only felt a couple of small movements in the last few hours. "
            "I had a cold drink and lay on my side but it's still quiet."
        ),
        draft=(
            "A change in your baby's usual pattern of movements needs to be checked today; please don't "
            "wait until tomorrow or count kicks at home. Go to the maternity assessment unit or labour "
            "ward now so they can monitor the baby's heartbeat. It usually takes under an hour and most "
            "babies are fine, but it is important to check. Don't rely on a home heartbeat monitor. If "
            "there are no movements at all, go immediately."
        ),
        follow_up=(
            "OK, I'm getting ready to go now. Should I eat something before I leave?",
            (
                "Yes, a light snack and a drink are fine. Bring your pregnancy record book and tell the "
                "midwife when you last felt the baby move and what the movements were like today."
            ),
        ),
        avatar_flag=("pregnancy", "Reduced fetal movements"),
        reply=(
            "This is Dr Chen. Thank you for letting us know straight away. Please go to the maternity "
            "assessment unit now for monitoring and bring your record book. I will look at the trace with "
            "the team on duty, and if all is well you can go home tonight with advice on what to watch "
            "for."
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="urgent",
        language=EN,
        kind="pregnant",
        weeks=(5, 13),
        patient=(
            "I'm {weeks} weeks pregnant and this morning I noticed some bleeding, a bit more than "
            "spotting, with cramping pain on my right side. I haven't had my first scan yet."
        ),
        draft=(
            "Light bleeding in early pregnancy is common and often settles by itself. Rest, avoid heavy "
            "lifting and use pads rather than tampons. Most pregnancies with some early bleeding carry on "
            "normally."
        ),
        avatar_flag=("pregnancy", "Bleeding in early pregnancy"),
        correction=(
            "should_escalate",
            (
                "Bleeding with one-sided pain before your first scan needs to be checked today, because we "
                "need to rule out a pregnancy outside the womb (ectopic pregnancy). Please go to the early "
                "pregnancy unit or the emergency department today for a scan and a blood test. Go straight "
                "away, or call 120, if the pain becomes severe, you feel faint or dizzy, you get pain in the "
                "tip of your shoulder, or the bleeding gets heavier. Use pads, not tampons."
            ),
        ),
        reply=(
            "This is Dr Chen. I'd like you to have a scan today to make sure the pregnancy is in the "
            "womb. Please go to the early pregnancy unit this morning; they know you are coming. If the "
            "pain gets much worse or you feel faint before then, call 120."
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="urgent",
        language=EN,
        kind="pregnant",
        weeks=(20, 36),
        patient=(
            "I'm {weeks} weeks pregnant and had some bleeding after sex last night, bright red but only a "
            "little. This morning there's a bit of pink when I wipe. No pain, and the baby is moving "
            "normally."
        ),
        draft=(
            "Any bleeding in the second half of pregnancy should be checked, even if it is light and came "
            "after sex. It most often comes from the cervix and is harmless, but we need to examine you "
            "and confirm where the placenta is. Please contact the maternity assessment unit today. Avoid "
            "sex until you have been seen, and go straight away if the bleeding gets heavier, you get "
            "tummy pain or tightenings, or the baby moves less."
        ),
        avatar_flag=("pregnancy", "Bleeding in pregnancy after 20 weeks"),
    ),
    Scenario(
        specialty=OB,
        urgency="urgent",
        language=EN,
        kind="postpartum",
        patient=(
            "My baby is 12 days old and feels hot, I measured 38.2 under the arm. He's feeding less than "
            "usual and is very sleepy."
        ),
        draft=(
            "A temperature of 38 °C or more in a baby under 3 months always needs a doctor the same day, "
            "even without other symptoms. Please take your baby to the children's emergency department "
            "now. Don't give any fever medicine before he has been examined unless a doctor tells you to, "
            "and keep offering feeds. Call 120 if he is hard to wake, floppy, or his breathing changes."
        ),
        avatar_flag=("infant_fever", "Fever in a 12-day-old baby"),
        reply=(
            "This is Dr Chen. Please take him to the children's emergency department now; babies this "
            "young with a fever need to be checked in hospital. Keep breastfeeding on the way if he will "
            "feed. Let me know what the paediatric team says."
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="soon",
        language=EN,
        kind="pregnant",
        weeks=(24, 32),
        patient=(
            "My glucose tolerance test came back: fasting 5.3, 1 hour 10.4, 2 hours 8.1. The nurse said "
            "it's a bit high. What does that mean for me and the baby?"
        ),
        draft=(
            "On the glucose tolerance test, a fasting value of 5.1 or more, a 1-hour value of 10.0 or "
            "more, or a 2-hour value of 8.5 or more meets the criteria for gestational diabetes, so your "
            "results fit it. It is common and usually well controlled with changes to diet and activity; "
            "some women also need medicine. Dr Chen's team will contact you to arrange a dietitian "
            "appointment and show you how to check your blood sugar at home. Until then, cut down on "
            "sugary drinks, sweets, and white rice or bread, and walk for 10 to 15 minutes after meals."
        ),
        avatar_flag=("abnormal_result", "Raised OGTT values"),
    ),
    Scenario(
        specialty=OB,
        urgency="soon",
        language=EN,
        kind="pregnant",
        weeks=(6, 14),
        patient=(
            "I'm {weeks} weeks and I've been vomiting 5 or 6 times a day for {days} days. I can keep down "
            "small sips of water but hardly any food, and my urine is much darker than usual."
        ),
        draft=(
            "Nausea and vomiting are very common in early pregnancy and usually ease by 14 to 16 weeks. "
            "Try small, frequent meals, dry crackers before getting up, and ginger tea."
        ),
        avatar_flag=("needs_follow_up", "Persistent vomiting in pregnancy"),
        correction=(
            "incomplete",
            (
                "Vomiting several times a day with dark urine means you may be getting dehydrated, which is "
                "more than ordinary morning sickness. Please come to the obstetric day unit tomorrow so we "
                "can check your urine and blood and, if needed, give you fluids through a drip. There are "
                "anti-sickness medicines that are safe in pregnancy, which we can prescribe once we have seen "
                "you. Keep taking small sips of fluid often. Go to the emergency department sooner if you "
                "can't keep any fluids down for 12 hours, feel very dizzy, or see blood in your vomit."
            ),
        ),
        reply=(
            "This is Dr Chen. I'd like to see you at the obstetric day unit tomorrow morning at 9 so we "
            "can check whether you are dehydrated and treat the sickness. If you can't keep any fluids "
            "down tonight, please go to the emergency department instead."
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="soon",
        language=EN,
        kind="postpartum",
        patient=(
            "For two days my left breast has had a hard, red, painful patch and today I feel shivery and "
            "achy, like flu. I'm breastfeeding. Should I stop feeding on that side?"
        ),
        draft=(
            "Please keep breastfeeding from that side: emptying the breast helps it heal and the milk is "
            "safe for your baby. Feed or express often, start on the sore side, and try different "
            "positions. Cold compresses after feeds, and ibuprofen 400 mg every 8 hours with food, can "
            "ease the pain and swelling. If you are not improving within 12 to 24 hours, or feel more "
            "unwell, you may need antibiotics; please book an appointment for the next day."
        ),
        avatar_flag=("needs_follow_up", "Possible mastitis"),
    ),
    Scenario(
        specialty=OB,
        urgency="soon",
        language=EN,
        kind="pregnant",
        weeks=(14, 38),
        patient=(
            "I've had a bad cold for a few days with a blocked nose and a cough. Which cold medicines are "
            "safe at {weeks} weeks?"
        ),
        draft=(
            "Paracetamol is the preferred painkiller in pregnancy: 500 mg to 1 g up to four times a day, "
            "no more than 4 g in 24 hours. Saline nose drops or spray and steam inhalation are safe for a "
            "blocked nose. Please avoid ibuprofen, decongestant tablets and combined cold and flu "
            "products unless a doctor has checked them. Contact us if a high temperature, green phlegm or "
            "breathlessness develops."
        ),
        avatar_flag=("medication_question", "Asks about medicines in pregnancy"),
    ),
    Scenario(
        specialty=OB,
        urgency="routine",
        language=EN,
        kind="pregnant",
        weeks=(10, 30),
        patient="Is it safe to keep going to the gym now that I'm pregnant? I usually run and lift weights.",
        draft=(
            "Yes. Staying active is good for you and the baby, and most women can continue the exercise "
            "they did before pregnancy. Aim for about 150 minutes of moderate activity a week. Run at a "
            "pace where you can still talk, avoid exercising flat on your back for long after about 16 "
            "weeks, and skip contact sports or anything with a risk of falling. Stop and contact us if "
            "there is pain, bleeding, dizziness or leaking fluid."
        ),
        follow_up=(
            "What about hot yoga?",
            (
                "Hot yoga and saunas are best avoided in pregnancy, because overheating may not be good for "
                "the baby, especially early on. Pregnancy yoga in a normal room is a great alternative."
            ),
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="routine",
        language=EN,
        kind="pregnant",
        weeks=(5, 14),
        patient="What foods should I avoid during pregnancy? I love sushi and soft cheese.",
        draft=(
            "Congratulations! A few foods are best avoided in pregnancy because of infections such as "
            "listeria and toxoplasma: raw or undercooked meat and eggs, raw fish such as sashimi (cooked "
            "or vegetarian sushi is fine), unpasteurised milk, and soft mould-ripened cheeses like brie "
            "unless cooked until steaming hot. Keep caffeine to about two cups of coffee a day and avoid "
            "alcohol completely. Keep taking folic acid until the end of the first trimester."
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="routine",
        language=EN,
        kind="pregnant",
        weeks=(18, 40),
        patient="I've been getting lower back pain in the evenings and I find it hard to sleep. Any tips?",
        draft=(
            "Back ache is very common as your bump grows and your ligaments soften. Sleeping on your side "
            "with a pillow between your knees and another under your bump often helps. Keep a good "
            "posture, wear flat shoes, and bend your knees when lifting. Gentle swimming, pregnancy yoga "
            "and a warm (not hot) bath can ease it. Let us know if the pain comes in waves, is on one "
            "side with a fever, or it hurts to pass urine."
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="routine",
        language=EN,
        kind="postpartum",
        patient=(
            "How often should a newborn breastfeed? My little one seems to want to feed constantly in the evenings."
        ),
        draft=(
            "Frequent feeding, often 8 to 12 feeds in 24 hours, is normal in the first weeks, and many "
            "newborns cluster feed in the evening; it helps build your milk supply. Signs that feeding is "
            "going well are at least six wet nappies a day after day five, regular yellow stools and "
            "steady weight gain. If feeding is painful, ask for a check of the latch at the postnatal "
            "clinic."
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="routine",
        language=EN,
        kind="pregnant",
        weeks=(14, 34),
        patient="Can I fly home to see my family next month? It's a 3-hour flight.",
        draft=(
            "Flying is generally safe in an uncomplicated pregnancy until about 36 weeks (32 weeks with "
            "twins), and most airlines ask for a letter from your doctor after 28 weeks. On the flight, "
            "drink water regularly, get up and walk around every half hour or so, and wear compression "
            "stockings to lower the risk of clots. Bring your pregnancy record book and check that your "
            "travel insurance covers pregnancy."
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="routine",
        language=EN,
        kind="pregnant",
        weeks=(5, 14),
        patient="Should I still be taking folic acid? I ran out last week and haven't bought more.",
        draft=(
            "Yes, please keep taking folic acid 0.4 mg once a day until at least 12 weeks; it lowers the "
            "risk of spinal problems in the baby. Any pharmacy sells it without a prescription. Missing a "
            "few days is not harmful, just restart today."
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="routine",
        language=EN,
        kind="postpartum",
        patient="My stitches are still sore a week after the birth. Which painkillers can I take while breastfeeding?",
        draft=(
            "Paracetamol and ibuprofen are both safe while breastfeeding. You can take paracetamol 1 g "
            "every 6 hours (no more than 4 g a day) and, if needed, ibuprofen 400 mg every 8 hours with "
            "food. Keep the stitches clean and dry, pour warm water over them when you pass urine, and "
            "let us know if the pain gets worse, there is a smelly discharge or the wound opens."
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="routine",
        language=EN,
        kind="pregnant",
        weeks=(10, 30),
        patient="My blood test says I'm a little anaemic. I read that liver has lots of iron. Can I eat liver pâté?",
        draft=(
            "Liver is an excellent source of iron, so eating liver or liver pâté once or twice a week is "
            "a good way to raise your iron level in pregnancy."
        ),
        correction=(
            "factual_error",
            (
                "Please avoid liver and liver products such as pâté during pregnancy: they contain very high "
                "levels of vitamin A, which can harm the baby's development. Good sources of iron are red "
                "meat, eggs, beans, lentils, tofu and dark green vegetables, and vitamin C with meals helps "
                "you absorb it. Because your blood test shows anaemia, we will probably recommend an iron "
                "supplement; we'll go through it at your next visit."
            ),
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="routine",
        language=EN,
        kind="pregnant",
        weeks=(18, 26),
        patient=(
            "I'd like a real doctor to look at this please. My anomaly scan report says 'low-lying "
            "placenta'. What does that mean? You can email me at mei.lin88@example.com if that's easier."
        ),
        draft=(
            "At the mid-pregnancy scan the placenta is often close to the cervix, and in most women it "
            "moves up as the womb grows. We usually repeat the scan at about 32 weeks to check. Until "
            "then, contact the maternity unit straight away if there is any bleeding. I've asked Dr Chen "
            "to look at your report as well; her reply will come here in the app."
        ),
    ),
    # ------------------------------------------------------------------ Obstetrics, Chinese
    Scenario(
        specialty=OB,
        urgency="emergency",
        language=ZH,
        kind="pregnant",
        weeks=(28, 40),
        patient=(
            "医生，我怀孕{weeks}周，刚才突然大出血，鲜红色的，已经湿透了两片卫生巾，肚子一直硬硬的疼，不是一阵一阵的。"
        ),
        draft=(
            "孕晚期突然大量鲜红色出血、肚子持续发硬疼痛，可能是胎盘早剥等急症，对您和宝宝都很危险。"
            "请马上拨打120，或立即由家人送到最近有产科的医院急诊，不要在家观察。等车时尽量左侧卧，"
            "暂时不要吃东西喝水，带上孕检本。如果感到头晕、心慌或者胎动明显减少，请立刻告诉急救人员。"
        ),
        avatar_flag=("bleeding", "Heavy vaginal bleeding with abdominal pain, third trimester"),
        reply=(
            "我是陈医生。看到您的情况了，请立即拨打120去医院急诊，不要自己开车。我已经通知产房值班同事。"
            "到医院后告诉分诊护士您孕{weeks}周、大量出血伴腹痛。路上有任何变化随时在这里告诉我。"
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="emergency",
        language=ZH,
        kind="postpartum",
        patient="剖宫产后第8天，今天早上开始深呼吸时胸口痛，走几步就喘不上气，右边小腿这两天又肿又疼。",
        draft=(
            "剖宫产后身体比较虚弱，活动后气短、腿酸都比较常见。建议多休息，适当下床走动，躺着时把腿抬高，"
            "多喝水。如果两三天后还不缓解，可以到产后门诊复查。"
        ),
        correction=(
            "should_escalate",
            (
                "产后出现深呼吸时胸痛、气促，同时一侧小腿肿痛，需要警惕下肢静脉血栓脱落引起的肺栓塞，这是急症，"
                "不能等两三天。请立即拨打120或马上去急诊，告诉医生您剖宫产后第8天，有胸痛、气促和小腿肿痛。"
                "不要按摩小腿。如果气促加重、咳血或者晕倒，立即呼叫120。"
            ),
        ),
        reply=(
            "我是陈医生。您的症状需要今天马上检查，请不要等。现在就去急诊，如果身边没人或者气促越来越重，"
            "请直接拨打120。告诉急诊医生您剖宫产后第8天、胸痛气促、小腿肿，他们会排查血栓。"
            "看完后在这里告诉我结果。"
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="emergency",
        language=ZH,
        kind="pregnant",
        weeks=(24, 40),
        patient=(
            "我老婆怀孕{weeks}周，下午一直说头很痛、看东西模糊，刚才突然抽搐了一分钟左右，叫她没反应，"
            "现在醒了但有点糊涂。"
        ),
        draft=(
            "孕期出现剧烈头痛、视物模糊后抽搐，要高度怀疑子痫，会危及母亲和胎儿的生命。请立即拨打120。"
            "让她左侧卧，移开周围可能碰伤她的东西，不要往她嘴里塞任何东西。如果再次抽搐，"
            "记下开始和结束的时间。救护车能很快到的话，不要自己开车送。"
        ),
        avatar_flag=("seizure", "Seizure in pregnancy after headache and visual disturbance"),
        reply=(
            "我是陈医生。如果还没打120，请现在就打，她需要马上去有产科的医院。让她保持左侧卧，"
            "身边一直有人陪着。告诉急救人员她怀孕{weeks}周，抽搐前有剧烈头痛。我已经通知了产房。"
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="urgent",
        language=ZH,
        kind="pregnant",
        weeks=(26, 40),
        patient=(
            "孕{weeks}周，今天感觉胎动减少了，平时晚饭后动得很厉害，今晚两三个小时才感觉到一两下。"
            "吃了点东西、左侧躺了一会儿，还是不怎么动。"
        ),
        draft=(
            "胎动规律发生变化需要当天检查，请不要等到明天，也不要在家自己继续数胎动。"
            "请现在去医院产科急诊或产房做胎心监护，一般一个小时左右就能做完，大多数宝宝都没事，但一定要查。"
            "不要依靠家用胎心仪来判断。如果完全感觉不到胎动，请立即去医院。"
        ),
        avatar_flag=("pregnancy", "Reduced fetal movements"),
        reply=(
            "我是陈医生。谢谢您及时告诉我们。请现在去产科急诊做胎心监护，带上孕检本。"
            "我会和值班同事一起看监护结果，如果一切正常，今晚就可以回家，我们会告诉您之后要注意什么。"
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="urgent",
        language=ZH,
        kind="pregnant",
        weeks=(5, 13),
        patient="怀孕{weeks}周，今天早上发现有出血，比点滴多一些，右下腹一抽一抽地疼，还没做过B超。",
        draft=(
            "孕早期少量出血比较常见，很多时候会自己停止。建议卧床休息，避免劳累和提重物，"
            "大部分有过出血的妊娠都能正常继续。"
        ),
        avatar_flag=("pregnancy", "Bleeding in early pregnancy"),
        correction=(
            "should_escalate",
            (
                "孕早期出血并伴有一侧下腹痛，在B超确认宫内孕之前，需要当天排除宫外孕。"
                "请今天就去医院妇产科急诊做B超和抽血检查。如果腹痛加剧、头晕乏力、肩膀痛或者出血增多，"
                "请立即拨打120。用卫生巾，不要用卫生棉条。"
            ),
        ),
        reply=(
            "我是陈医生。需要您今天做个B超，确认胚胎在宫内。请今天上午去妇产科急诊，我已经和他们打过招呼。"
            "在这之前如果肚子痛得厉害或者头晕，请拨打120。"
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="urgent",
        language=ZH,
        kind="pregnant",
        weeks=(20, 36),
        patient="孕{weeks}周，昨天晚上同房后有点见红，量不多，今天擦的时候还有一点粉色。肚子不疼，胎动正常。",
        draft=(
            "孕中晚期任何出血都应该检查，即使量不多、发生在同房后。多数是宫颈出血，问题不大，"
            "但需要检查并确认胎盘的位置。请今天到产科门诊或急诊看一下，检查前避免同房。如果出血增多、"
            "出现腹痛或宫缩、胎动减少，请立即就医。"
        ),
        follow_up=(
            "今天下午去可以吗？上午要上班。",
            "下午去可以。如果在这之前出血变多、肚子痛或者胎动减少，就不要等了，直接去急诊。",
        ),
        avatar_flag=("pregnancy", "Bleeding in pregnancy after 20 weeks"),
    ),
    Scenario(
        specialty=OB,
        urgency="urgent",
        language=ZH,
        kind="postpartum",
        patient="宝宝出生15天，今天发烧了，腋温38.3度，吃奶比平时少，一直在睡。",
        draft=(
            "3个月以内的宝宝体温达到38℃就需要当天看医生，即使没有其他症状。请现在带宝宝去儿科急诊。"
            "医生检查前不要自行给退烧药，继续按需喂奶。如果宝宝很难叫醒、精神很差或者呼吸异常，请拨打120。"
        ),
        avatar_flag=("infant_fever", "Fever in a 15-day-old baby"),
        reply=(
            "我是陈医生。请现在带宝宝去儿科急诊，这么小的宝宝发烧需要在医院检查。"
            "路上如果宝宝愿意吃就继续喂奶。儿科医生看完后请告诉我结果。"
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="soon",
        language=ZH,
        kind="pregnant",
        weeks=(24, 32),
        patient="糖耐结果出来了，空腹5.3，1小时10.6，2小时8.2，护士说有点高，这是什么意思？对宝宝有影响吗？",
        draft=(
            "糖耐试验的标准是：空腹≥5.1、1小时≥10.0、2小时≥8.5，任意一项达到就符合妊娠期糖尿病。"
            "先别太担心，这很常见，大多数通过饮食和运动就能控制好，少数需要用药。"
            "陈医生的团队会联系您安排营养门诊，并教您在家监测血糖。在此之前，少喝含糖饮料，"
            "少吃甜食和白米饭、白面包，饭后散步10到15分钟。"
        ),
        avatar_flag=("abnormal_result", "Raised OGTT values"),
    ),
    Scenario(
        specialty=OB,
        urgency="soon",
        language=ZH,
        kind="pregnant",
        weeks=(6, 14),
        patient="怀孕{weeks}周，这{days}天每天吐五六次，只能喝几口水，吃什么吐什么，小便颜色很深。",
        draft="孕早期恶心呕吐很常见，一般到14到16周会慢慢缓解。可以少食多餐，起床前吃点苏打饼干，喝点姜茶。",
        avatar_flag=("needs_follow_up", "Persistent vomiting in pregnancy"),
        correction=(
            "incomplete",
            (
                "每天呕吐好几次、小便颜色变深，说明可能已经脱水，比一般的孕吐要严重，需要及时处理。"
                "请明天到产科日间病房，查一下尿酮体和血，必要时需要输液。孕期有安全的止吐药，"
                "医生面诊后可以使用。平时少量多次喝水。如果超过12小时完全喝不进水、头晕得厉害或者吐出血，"
                "请马上去急诊。"
            ),
        ),
        reply=(
            "我是陈医生。建议您明天上午9点来产科日间病房，我们给您查一下有没有脱水，再处理孕吐。"
            "如果今晚一点水都喝不进，请直接去急诊。"
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="soon",
        language=ZH,
        kind="postpartum",
        patient="左边乳房有一块硬硬的，又红又疼，已经两天了，今天浑身发冷、酸痛，像感冒一样。还能继续喂奶吗？",
        draft=(
            "可以继续喂奶，而且患侧要多喂，把乳汁排空有助于恢复，乳汁对宝宝是安全的。每次先喂患侧，"
            "多换几种姿势。喂奶后可以冷敷；疼痛明显可以吃布洛芬，每次400毫克，每8小时一次，饭后服用。"
            "如果12到24小时没有好转或者更难受，可能需要用抗生素，请在一天内来门诊。"
        ),
        avatar_flag=("needs_follow_up", "Possible mastitis"),
    ),
    Scenario(
        specialty=OB,
        urgency="soon",
        language=ZH,
        kind="pregnant",
        weeks=(14, 38),
        patient="孕{weeks}周，感冒好几天了，鼻塞流鼻涕，有点咳嗽，能吃什么药？",
        draft=(
            "孕期首选的止痛退烧药是对乙酰氨基酚，每次500毫克，一天不超过4次。鼻塞可以用生理盐水洗鼻或喷鼻，"
            "也可以用热蒸汽熏一熏。请不要自行服用布洛芬、含伪麻黄碱的药或复方感冒药。如果出现高烧、"
            "咳黄绿色痰或者气喘，请及时联系我们。"
        ),
        avatar_flag=("medication_question", "Asks about medicines in pregnancy"),
    ),
    Scenario(
        specialty=OB,
        urgency="routine",
        language=ZH,
        kind="pregnant",
        weeks=(10, 30),
        patient="怀孕了还能继续去健身房吗？我平时跑步，也做力量训练。",
        draft=(
            "可以的，孕期保持运动对您和宝宝都有好处，大多数孕前有运动习惯的人可以继续。"
            "建议每周大约150分钟中等强度的运动。跑步时保持能正常说话的速度；孕16周以后避免长时间平躺运动；"
            "避免对抗性运动和容易摔倒的项目。如果出现腹痛、出血、头晕或者流液，请停止运动并联系我们。"
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="routine",
        language=ZH,
        kind="pregnant",
        weeks=(5, 14),
        patient="孕期有哪些东西不能吃？我很喜欢吃生鱼片和溏心蛋。",
        draft=(
            "恭喜您！孕期为了预防李斯特菌、弓形虫等感染，建议避免：生的或没熟透的肉和蛋（包括溏心蛋）、"
            "生鱼片等生海鲜、没有经过巴氏消毒的奶制品。咖啡控制在每天一两杯以内，完全不喝酒。"
            "叶酸继续吃到孕早期结束。"
        ),
        follow_up=(
            "那火锅可以吃吗？",
            "可以吃，注意肉和海鲜要完全涮熟再吃，生熟食材用不同的筷子和盘子，汤底不要太辣太咸。",
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="routine",
        language=ZH,
        kind="pregnant",
        weeks=(18, 40),
        patient="最近晚上腰很酸，睡觉怎么躺都不舒服，有什么办法吗？",
        draft=(
            "孕中晚期腰酸很常见，和肚子变大、韧带变松有关。睡觉时建议侧卧，两腿之间夹一个枕头，"
            "肚子下面再垫一个。平时注意姿势，穿平底鞋，搬东西时先屈膝。游泳、孕妇瑜伽、温水（不要太热）"
            "泡澡都有帮助。如果腰痛一阵一阵的、只在一侧并伴有发热，或者小便时疼，请告诉我们。"
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="routine",
        language=ZH,
        kind="postpartum",
        patient="新生儿多久喂一次奶？宝宝晚上好像一直要吃。",
        draft=(
            "头几周一天喂8到12次都很正常，很多宝宝傍晚会密集吃奶，这有助于建立奶量。判断吃得够不够："
            "出生5天后每天尿湿的尿布至少6块，大便黄色、规律，体重稳定增长。如果喂奶时乳头很痛，"
            "可以到产后门诊请护士看看含乳姿势。"
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="routine",
        language=ZH,
        kind="pregnant",
        weeks=(14, 34),
        patient="怀孕了可以坐飞机吗？下个月想回老家，飞机3个小时。",
        draft=(
            "没有并发症的孕妇一般在36周前（双胎32周前）坐飞机是安全的，"
            "很多航空公司要求28周以后提供医生证明。飞行中多喝水，每隔半小时左右起来走动一下，"
            "可以穿弹力袜预防血栓。记得带上孕检本，并确认旅行保险包含孕期。"
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="routine",
        language=ZH,
        kind="pregnant",
        weeks=(5, 14),
        patient="叶酸还要继续吃吗？上周吃完了一直没买。",
        draft=(
            "要继续吃。叶酸每天0.4毫克，一天1次，至少吃到孕12周，可以降低宝宝神经管缺陷的风险。"
            "药店就能买到，不需要处方。漏吃几天问题不大，今天开始补上就好。"
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="routine",
        language=ZH,
        kind="postpartum",
        patient="顺产一周了，侧切伤口还是疼，喂奶期间能吃什么止痛药？",
        draft=(
            "哺乳期可以使用对乙酰氨基酚和布洛芬。对乙酰氨基酚每次1克，每6小时一次，一天不超过4克；"
            "需要时也可以用布洛芬，每次400毫克，每8小时一次，饭后吃。保持伤口清洁干燥，"
            "小便时可以用温水冲洗。如果疼痛加重、有异味分泌物或伤口裂开，请及时联系我们。"
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="routine",
        language=ZH,
        kind="pregnant",
        weeks=(10, 30),
        patient="我有点贫血，听说猪肝补铁，孕期可以多吃猪肝吗？",
        draft="猪肝含铁丰富，孕期每周吃一两次猪肝是补铁的好方法，可以多吃。",
        correction=(
            "factual_error",
            (
                "孕期不建议吃动物肝脏，包括猪肝、鸡肝，因为维生素A含量非常高，过量可能影响宝宝发育。"
                "补铁可以多吃红肉、鸡蛋、豆类、豆腐和深绿色蔬菜，同时吃些富含维生素C的水果帮助吸收。"
                "既然血常规提示贫血，医生可能会建议补充铁剂，下次产检时我们再具体讨论。"
            ),
        ),
    ),
    Scenario(
        specialty=OB,
        urgency="routine",
        language=ZH,
        kind="pregnant",
        weeks=(18, 26),
        patient=(
            "我想找医生本人看一下：大排畸B超报告写着“胎盘低置”，这是什么意思？严重吗？我手机是13812345678，"
            "方便的话打给我。"
        ),
        draft=(
            "孕中期B超时胎盘位置偏低很常见，大多数会随着子宫增大而上移，一般在32周左右复查B超确认。"
            "在这之前，如果出现任何阴道出血，请立即到产科急诊。我已经请陈医生也看一下您的报告，"
            "她会在App里回复您。"
        ),
    ),
    # ------------------------------------------------------------------ Paediatrics, English
    Scenario(
        specialty=PAED,
        urgency="emergency",
        language=EN,
        kind="child",
        patient=(
            "My {age}-year-old has had a high fever since this morning and just had a seizure: eyes "
            "rolled back, arms and legs jerking for about 2 minutes. Now very sleepy but breathing."
        ),
        draft=(
            "A first seizure with a fever always needs a doctor to check your child today. Call 120 "
            "straight away if the seizure lasts longer than 5 minutes, another one starts, or your child "
            "is hard to wake or has difficulty breathing. Otherwise take your child to the children's "
            "emergency department now. Lay them on their side, don't put anything in their mouth, and "
            "don't try to cool them with cold water."
        ),
        avatar_flag=("seizure", "Seizure with fever"),
        reply=(
            "This is Dr Wang. Please bring your child to the children's emergency department now, and "
            "call 120 if another seizure starts or they are hard to wake. Keep them on their side on the "
            "way. I've told the team you are coming."
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="emergency",
        language=EN,
        kind="child",
        patient=(
            "My {age}-year-old ate a cookie with peanuts 10 minutes ago. Now the lips are swelling, there "
            "are hives everywhere, and my child says their throat is tight."
        ),
        draft=(
            "This could be a severe allergic reaction (anaphylaxis). Call 120 now. If your child has an "
            "adrenaline auto-injector, use it straight away in the outer thigh. Keep your child lying "
            "down with legs raised, or sitting up if breathing is hard, and don't let them stand or walk. "
            "Stay with them until help arrives."
        ),
        avatar_flag=("anaphylaxis", "Possible anaphylaxis after peanut"),
        reply=(
            "This is Dr Wang. Call 120 now if you haven't already, and tell them it is a peanut reaction "
            "with a tight throat. Use the auto-injector if you have one. Keep your child lying down with "
            "the legs raised, or sitting if breathing is hard. Stay on the phone with the ambulance "
            "service until they arrive."
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="emergency",
        language=EN,
        kind="infant",
        months=(1, 11),
        patient=(
            "My {months}-month-old has had a cold for {days} days and today is having difficulty "
            "breathing. The tummy sucks in under the ribs with every breath, and only half the usual "
            "feeds are going down."
        ),
        draft=(
            "Colds are very common in babies and usually last 7 to 10 days. Keep the nose clear with "
            "saline drops, offer smaller feeds more often, and keep the baby upright after feeds. If "
            "things don't improve in a few days, book an appointment."
        ),
        correction=(
            "should_escalate",
            (
                "Difficulty breathing with the tummy sucking in under the ribs, together with taking only "
                "half the usual feeds, means your baby needs to be seen by a doctor now. This can be "
                "bronchiolitis, and some babies need oxygen or help with feeding in hospital. Please take "
                "your baby to the children's emergency department now. Call 120 if the lips look blue, there "
                "are pauses in the breathing, or your baby becomes floppy or hard to wake."
            ),
        ),
        reply=(
            "This is Dr Wang. From what you describe, your baby needs to be checked in hospital now. "
            "Please go to the children's emergency department; call 120 if the lips turn blue or there "
            "are pauses in the breathing. Hold your baby upright on the way."
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="urgent",
        language=EN,
        kind="infant",
        months=(1, 2),
        patient=(
            "My {months}-month-old has had a temperature of 38.4 since this afternoon. Feeding a bit less "
            "but otherwise seems okay."
        ),
        draft=(
            "Any temperature of 38 °C or more in a baby under 3 months needs to be checked by a doctor "
            "today, even if the baby otherwise seems well. Please take your baby to the children's "
            "emergency department now. Don't give fever medicine before your baby has been examined, keep "
            "feeding, and dress your baby in light layers. Call 120 if your baby is hard to wake, floppy, "
            "has a rash that doesn't fade when pressed, or is breathing fast."
        ),
        avatar_flag=("infant_fever", "Fever under 3 months"),
        reply=(
            "This is Dr Wang. Babies under 3 months with a fever need to be examined in hospital, even "
            "when they look well. Please come to the children's emergency department now. I've let the "
            "team know; they will probably check blood and urine."
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="urgent",
        language=EN,
        kind="infant",
        months=(3, 11),
        patient=(
            "My {months}-month-old has had a fever up to 39.5 for {days} days, is drinking much less and "
            "has only had two wet nappies today."
        ),
        draft=(
            "Most fevers in babies are caused by viruses and get better on their own. To bring the "
            "temperature down you can give children's aspirin and sponge your baby with cold water. Offer "
            "plenty of fluids and let us know if it lasts more than a week."
        ),
        avatar_flag=("infant_fever", "Fever with reduced intake in an infant"),
        correction=(
            "unsafe_advice",
            (
                "Please don't give aspirin to babies or children: it can cause a rare but serious illness of "
                "the liver and brain (Reye's syndrome). Don't sponge with cold water either; it makes babies "
                "shiver. A fever for {days} days with much less drinking and only two wet nappies today means "
                "your baby may be getting dehydrated and needs to be seen today. Please bring your baby to "
                "the children's emergency department now. For comfort you can give paracetamol or ibuprofen "
                "at the dose for your baby's weight on the packet. Call 120 if your baby is very sleepy, "
                "floppy, has a rash that doesn't fade, or is breathing fast."
            ),
        ),
        reply=(
            "This is Dr Wang. With a fever for {days} days and so few wet nappies, I'd like your baby "
            "checked for dehydration today. Please come to the children's emergency department now and "
            "bring any medicines you have given."
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="urgent",
        language=EN,
        kind="infant",
        months=(1, 2),
        patient="My {months}-month-old has a fever of 38.1 and is very sleepy and not interested in feeding.",
        draft=(
            "A fever in a baby this young, especially with sleepiness and poor feeding, needs a doctor "
            "straight away. Please go to the children's emergency department now, and call 120 if your "
            "baby is hard to wake or floppy. Keep offering feeds on the way. The team may need to test "
            "blood and urine to look for an infection; this is routine for babies under 3 months."
        ),
        avatar_flag=("infant_fever", "Fever, drowsiness and poor feeding under 3 months"),
    ),
    Scenario(
        specialty=PAED,
        urgency="urgent",
        language=EN,
        kind="infant",
        months=(4, 11),
        patient=(
            "My {months}-month-old has had a fever since yesterday, up to 38.9, with a runny nose, keeps "
            "pulling at the right ear and cries a lot at night."
        ),
        draft=(
            "A fever with ear pulling and a runny nose is often an ear infection following a cold. Please "
            "have your baby checked by a doctor today so they can look in the ears. Meanwhile you can "
            "give paracetamol 15 mg/kg every 6 hours for comfort, measured with the syringe in the pack, "
            "and keep up the feeds. Go to the emergency department straight away if your baby becomes "
            "very sleepy, has a rash that doesn't fade, or is breathing fast."
        ),
        avatar_flag=("infant_fever", "Fever with ear pulling in an infant"),
    ),
    Scenario(
        specialty=PAED,
        urgency="soon",
        language=EN,
        kind="child",
        patient=(
            "My {age}-year-old has had a dry cough for about three weeks, worse at night and after "
            "running around. No fever. Is that normal after a cold?"
        ),
        draft=(
            "A cough that lasts three weeks and is worse at night and with exercise should be checked. It "
            "can simply follow a cold, but it can also be a sign of asthma. Please book an appointment "
            "this week so we can listen to the chest. Meanwhile keep the home smoke-free and note when "
            "the cough happens. Come sooner if your child is breathing fast, wheezing or struggling to "
            "speak."
        ),
        avatar_flag=("needs_follow_up", "Cough for three weeks"),
        reply=(
            "This is Dr Wang. I'd like to listen to your child's chest; my clinic has a slot on Thursday "
            "afternoon and the nurse will confirm it here in the app. If the cough keeps your child "
            "awake, a teaspoon of honey before bed can help."
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="soon",
        language=EN,
        kind="infant",
        months=(3, 11),
        patient=(
            "My {months}-month-old has dry, red, itchy patches on the cheeks and in the elbow creases, "
            "and scratches so much at night that sleep is a struggle."
        ),
        draft=(
            "This sounds like eczema. It is usually caused by a food allergy, so stop cow's milk and eggs "
            "in the diet for a few weeks and see whether the skin improves."
        ),
        avatar_flag=("needs_follow_up", "Rash for review"),
        correction=(
            "factual_error",
            (
                "This sounds like eczema, which is very common in babies. In most babies it is not caused by "
                "a food allergy, so please don't cut foods out of the diet without advice. The most important "
                "treatment is an unperfumed moisturiser applied generously two or three times a day and after "
                "baths, keeping baths short and lukewarm, and avoiding soap. If the patches stay red and "
                "itchy, a mild steroid cream for a few days helps; let's look at the skin at an appointment "
                "this week. Contact us sooner if the skin is weeping, crusted or very painful."
            ),
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="soon",
        language=EN,
        kind="child",
        patient=(
            "My {age}-year-old had vaccines yesterday and the arm is red, swollen and a bit warm around "
            "the injection site, about the size of a coin. Playing normally though."
        ),
        draft=(
            "Redness, swelling and warmth around the injection site are common after vaccines and usually "
            "settle within 2 to 3 days. A cool damp cloth can ease it, and paracetamol helps if it's "
            "sore. Please send us a photo or book a check if the redness spreads beyond the upper arm, "
            "keeps growing after 48 hours, or your child develops a high fever or seems unwell."
        ),
        avatar_flag=("vaccine_reaction", "Local reaction after vaccination"),
    ),
    Scenario(
        specialty=PAED,
        urgency="soon",
        language=EN,
        kind="child",
        patient=(
            "My {age}-year-old has been constipated for a week, only one hard poo, and it hurts. Can I give something?"
        ),
        draft=(
            "Constipation is common in children and usually improves with a few changes. Offer more "
            "water, fruit such as pears, prunes and kiwi, and vegetables, and encourage sitting on the "
            "toilet for 5 minutes after meals. Lactulose syrup 5 ml once a day is safe for children and "
            "softens the stool. If there is blood in the poo, vomiting, a swollen tummy, or no "
            "improvement after a week, please book an appointment."
        ),
        avatar_flag=("medication_question", "Asks about laxatives for a child"),
    ),
    Scenario(
        specialty=PAED,
        urgency="routine",
        language=EN,
        kind="infant",
        months=(1, 6),
        patient="The next vaccinations are due next week. Is it okay to have them with a slight runny nose?",
        draft=(
            "A mild cold without a fever is not a reason to delay vaccines, so your baby can have them as "
            "planned. The vaccination booklet shows which ones are due, or the community health centre "
            "can tell you. After vaccines some babies are unsettled or a little warm for a day or two; "
            "extra cuddles and feeds help. Postpone only if your baby is clearly unwell with a high "
            "temperature."
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="routine",
        language=EN,
        kind="infant",
        months=(1, 6),
        patient=(
            "My little one brings up a bit of milk after most feeds but is gaining weight well and seems "
            "happy. Is that normal?"
        ),
        draft=(
            "Bringing up small amounts of milk after feeds (reflux) is very common in the first months "
            "and usually stops by about one year. If your baby is happy and gaining weight, no treatment "
            "is needed. Keep your baby upright for 20 to 30 minutes after feeds, avoid tight nappies, and "
            "try smaller, more frequent feeds. Let us know if the vomit is green, forceful or contains "
            "blood, or your baby stops gaining weight."
        ),
        follow_up=(
            "How much is too much? Sometimes it looks like the whole feed comes back.",
            (
                "It often looks like more than it is: a tablespoon of milk spreads a long way on a muslin. If "
                "whole feeds come back up forcefully, or there are fewer wet nappies, please book a check so "
                "we can weigh your baby."
            ),
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="routine",
        language=EN,
        kind="infant",
        months=(4, 11),
        patient="When should we start solid food, and what should we start with?",
        draft=(
            "Around six months is the right time to start solids, when your baby can sit up with support "
            "and shows interest in food. Start with iron-rich foods such as iron-fortified rice cereal, "
            "pureed meat or tofu, then add vegetables and fruit, one new food every few days. Breast milk "
            "or formula stays the main drink. No honey before one year, and no added salt or sugar."
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="routine",
        language=EN,
        kind="child",
        patient="My {age}-year-old refuses to go to bed and it takes an hour every night. Any tips?",
        draft=(
            "Bedtime battles are very common at this age. A regular routine helps most: the same bedtime "
            "every night, a calm hour before bed without screens, then a bath, a story and lights out. "
            "Keep the routine short and predictable, praise your child for staying in bed, and return "
            "them to bed calmly and quietly if they get up. If your child snores loudly, pauses breathing "
            "at night or is very sleepy in the day, please book an appointment."
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="routine",
        language=EN,
        kind="child",
        patient="My {age}-year-old only eats rice and noodles and refuses all vegetables. Should I worry?",
        draft=(
            "Picky eating is very common and most children grow out of it. Keep offering small amounts of "
            "vegetables alongside foods your child likes, without pressure; it can take 10 to 15 tries "
            "before a child accepts a new food. Eat together as a family, let your child help wash or "
            "choose vegetables, and avoid using sweets as a reward. If your child is losing weight, is "
            "very tired, or you are worried about growth, bring them in so we can check the growth chart."
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="routine",
        language=EN,
        kind="child",
        patient="What's the right dose of paracetamol for my {age}-year-old? About 16 kg, mild fever with a cold.",
        draft=(
            "For a child of 16 kg the paracetamol dose is 15 mg per kg, which is 240 mg, every 4 to 6 "
            "hours if needed, with no more than 4 doses in 24 hours. Use the syringe that comes with the "
            "medicine and check the strength on the bottle: for 120 mg/5 ml syrup, 240 mg is 10 ml. A "
            "fever with a cold usually settles in 2 to 3 days; bring your child in if it lasts more than "
            "5 days or your child seems very unwell."
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="routine",
        language=EN,
        kind="child",
        patient="My {age}-year-old sneezes and has an itchy runny nose every spring. Can they take an antihistamine?",
        draft=(
            "Yes, a non-drowsy antihistamine is fine for seasonal allergies in children. Cetirizine 5 mg "
            "once a day suits children aged 2 to 6, and 10 mg once a day from 6 years. A saline nose "
            "spray and washing face and hair after being outdoors also help. If your child also wheezes "
            "or coughs at night, book an appointment to check for asthma."
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="routine",
        language=EN,
        kind="infant",
        months=(1, 11),
        patient="Can I give the baby a little honey water for constipation? My mother says it works.",
        draft=(
            "A little diluted honey water can help soften your baby's stools. Give a teaspoon of honey in "
            "warm water once a day until the stools are softer."
        ),
        correction=(
            "unsafe_advice",
            (
                "Please don't give honey in any form to babies under one year: it can contain spores that "
                "cause infant botulism, a rare but serious illness. For constipation, formula-fed babies can "
                "have a little extra cooled boiled water between feeds, and gently cycling the legs and "
                "massaging the tummy also help. From six months, pureed pear or prune can soften the stools. "
                "Let us know if there is blood in the stool, a swollen tummy, vomiting, or no stool for more "
                "than 5 days."
            ),
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="routine",
        language=EN,
        kind="child",
        patient=(
            "Can I speak to a real doctor? My {age}-year-old's school needs a health certificate before "
            "going back after chickenpox."
        ),
        draft=(
            "Children with chickenpox can usually go back to school once all the spots have crusted over, "
            "usually about 5 days after the rash started. I've passed your request on to Dr Wang's clinic "
            "so a doctor can see your child and write the certificate; the clinic will contact you here "
            "with an appointment."
        ),
    ),
    # ------------------------------------------------------------------ Paediatrics, Chinese
    Scenario(
        specialty=PAED,
        urgency="emergency",
        language=ZH,
        kind="child",
        patient="孩子{age}岁，早上开始发高烧，刚才突然抽搐，眼睛上翻，手脚一抽一抽的，大概两分钟，现在很困但是有呼吸。",
        draft=(
            "第一次发烧伴抽搐，今天一定要让医生检查。如果抽搐超过5分钟、再次抽搐，或者孩子叫不醒、"
            "呼吸困难，请马上拨打120。否则请现在带孩子去儿科急诊。让孩子侧躺，不要往嘴里塞东西，"
            "也不要用冷水给孩子降温。"
        ),
        avatar_flag=("seizure", "Seizure with fever"),
        reply=(
            "我是王医生。请现在带孩子来儿科急诊，如果再次抽搐或者叫不醒，直接打120。路上让孩子侧躺。"
            "我已经跟急诊的同事说了。"
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="emergency",
        language=ZH,
        kind="child",
        patient="孩子{age}岁，十分钟前吃了含花生的饼干，现在嘴唇肿了，全身起风团，说喉咙发紧。",
        draft=(
            "这可能是严重过敏反应（过敏性休克）。请马上拨打120。如果孩子有肾上腺素自动注射笔，"
            "立即在大腿外侧注射。让孩子平躺、抬高双腿，呼吸困难时可以坐起来，不要让孩子站起来或走动。"
            "一直陪着孩子，直到急救人员到达。"
        ),
        avatar_flag=("anaphylaxis", "Possible anaphylaxis after peanut"),
        reply=(
            "我是王医生。如果还没打120，请马上打，告诉他们是吃花生后过敏、喉咙发紧。有肾上腺素笔就马上用。"
            "让孩子平躺抬高腿，呼吸费力就坐起来。保持电话畅通，等急救人员到。"
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="emergency",
        language=ZH,
        kind="infant",
        months=(1, 11),
        patient="宝宝{months}个月，感冒{days}天了，今天呼吸困难，吸气时肋骨下面凹进去，吃奶只有平时的一半。",
        draft=(
            "宝宝感冒很常见，一般持续7到10天。可以用生理盐水滴鼻保持鼻子通畅，少量多次喂奶，"
            "喂完竖着抱一会儿。如果几天后还没有好转，再预约门诊。"
        ),
        correction=(
            "should_escalate",
            (
                "呼吸困难、吸气时肋骨下凹陷，同时吃奶量只有平时一半，说明宝宝现在就需要医生检查。"
                "这可能是毛细支气管炎，有的宝宝需要住院吸氧或者帮助喂养。请现在带宝宝去儿科急诊。如果嘴唇发紫、"
                "呼吸有停顿，或者宝宝变得软弱无力、叫不醒，请拨打120。"
            ),
        ),
        reply=(
            "我是王医生。根据您说的情况，宝宝需要现在去医院检查。请马上去儿科急诊；"
            "如果嘴唇发紫或者呼吸有停顿，请拨打120。路上竖着抱宝宝。"
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="urgent",
        language=ZH,
        kind="infant",
        months=(1, 2),
        patient="宝宝{months}个月，下午开始发烧，38.4度，吃奶少了一点，其他看着还好。",
        draft=(
            "3个月以内的宝宝体温达到38℃，即使看起来精神还好，也需要今天让医生检查。请现在带宝宝去儿科急诊。"
            "医生看之前不要给退烧药，继续喂奶，穿薄一点。如果宝宝很难叫醒、软弱无力、"
            "出现按压不褪色的皮疹或者呼吸很快，请拨打120。"
        ),
        avatar_flag=("infant_fever", "Fever under 3 months"),
        reply=(
            "我是王医生。3个月以内的宝宝发烧，即使看着精神不错，也需要在医院检查。请现在来儿科急诊，"
            "我已经和同事说了，可能需要查血和尿。"
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="urgent",
        language=ZH,
        kind="infant",
        months=(3, 11),
        patient="宝宝{months}个月，发烧{days}天了，最高39.5度，喝奶喝水都很少，今天只尿了两次。",
        draft=(
            "婴儿发烧大多是病毒感染引起的，会自己好。可以给宝宝吃点儿童阿司匹林退烧，再用凉水擦身降温，"
            "多喝水，超过一周还不好再来看。"
        ),
        avatar_flag=("infant_fever", "Fever with reduced intake in an infant"),
        correction=(
            "unsafe_advice",
            (
                "请不要给婴儿和儿童吃阿司匹林，可能引起罕见但严重的肝脏和脑部损害（瑞氏综合征）；"
                "也不要用凉水擦身，会让宝宝寒战。发烧{days}天、喝得很少、今天只尿了两次，宝宝可能已经脱水，"
                "需要今天看医生。请现在带宝宝去儿科急诊。难受时可以按药盒上宝宝体重对应的剂量给对乙酰氨基酚或"
                "布洛芬。如果宝宝精神很差、软弱无力、出现不褪色的皮疹或者呼吸很快，请拨打120。"
            ),
        ),
        reply="我是王医生。发烧{days}天，尿又这么少，需要今天检查有没有脱水。请现在来儿科急诊，把已经吃过的药也带上。",
    ),
    Scenario(
        specialty=PAED,
        urgency="urgent",
        language=ZH,
        kind="infant",
        months=(1, 2),
        patient="宝宝{months}个月，发烧38.1度，特别嗜睡，不怎么想吃奶。",
        draft=(
            "这么小的宝宝发烧，尤其是伴有嗜睡、吃奶差，需要马上让医生检查。请现在去儿科急诊；"
            "如果宝宝很难叫醒或者软弱无力，请拨打120。路上继续喂奶。医生可能需要查血和尿找感染原因，"
            "这对3个月以内的宝宝是常规检查。"
        ),
        avatar_flag=("infant_fever", "Fever, drowsiness and poor feeding under 3 months"),
    ),
    Scenario(
        specialty=PAED,
        urgency="urgent",
        language=ZH,
        kind="infant",
        months=(4, 11),
        patient="宝宝{months}个月，昨天开始发烧，最高38.9度，流鼻涕，老是抓右边耳朵，晚上哭闹得厉害。",
        draft=(
            "发烧伴流鼻涕、抓耳朵，常见于感冒后的中耳炎，请今天带宝宝看医生检查耳朵。"
            "在此之前可以按体重给对乙酰氨基酚，每次15毫克/公斤，每6小时一次，用药盒里的量器量取，"
            "继续按需喂奶。如果宝宝精神很差、很难叫醒、出现按压不褪色的皮疹或者呼吸很快，请立即去急诊。"
        ),
        follow_up=(
            "今天周日，社区医院不开门，去哪里看？",
            "周日可以去我们医院的儿科门诊，上午8点到下午5点都有医生；晚上请去儿科急诊。",
        ),
        avatar_flag=("infant_fever", "Fever with ear pulling in an infant"),
    ),
    Scenario(
        specialty=PAED,
        urgency="soon",
        language=ZH,
        kind="child",
        patient="孩子{age}岁，干咳快三周了，晚上和跑跳以后咳得厉害，不发烧。感冒后咳这么久正常吗？",
        draft=(
            "咳嗽三周，晚上和运动后加重，需要检查一下。有可能只是感冒后咳嗽，但也可能是哮喘的表现。"
            "请这周预约门诊，让医生听听肺部。在此期间家里不要吸烟，记录一下什么时候咳得厉害。"
            "如果孩子呼吸很快、有喘鸣声或者说话费力，请尽早就医。"
        ),
        avatar_flag=("needs_follow_up", "Cough for three weeks"),
        reply=(
            "我是王医生。我想听一下孩子的肺，周四下午门诊有号，护士会在App里跟您确认时间。如果咳得睡不好，"
            "睡前可以喝一小勺蜂蜜。"
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="soon",
        language=ZH,
        kind="infant",
        months=(3, 11),
        patient="宝宝{months}个月，脸颊和胳膊肘弯里有干的红斑，很痒，晚上一直抓，睡不好。",
        draft="这像是湿疹，一般是食物过敏引起的，建议先把奶粉和鸡蛋停几周，看看皮肤有没有好转。",
        avatar_flag=("needs_follow_up", "Rash for review"),
        correction=(
            "factual_error",
            (
                "这像是湿疹，在婴儿中很常见。大多数宝宝的湿疹不是食物过敏引起的，请不要自行停掉食物。"
                "最重要的是保湿：用无香料的润肤霜，每天涂两三次、洗澡后马上涂，而且要涂得足量；洗澡时间短、"
                "水温不要太热，不用香皂。如果红斑一直不退、很痒，可以短期用弱效激素药膏，"
                "这周来门诊让我们看看皮肤。如果皮肤渗液、结痂或者很痛，请尽早就诊。"
            ),
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="soon",
        language=ZH,
        kind="child",
        patient="孩子{age}岁，昨天打了疫苗，打针的地方红肿，硬币那么大，摸着有点热，但是玩得挺好的。",
        draft=(
            "打疫苗后注射部位红肿、发热很常见，一般2到3天会消退。可以用凉的湿毛巾敷一敷，"
            "疼的话可以吃对乙酰氨基酚。如果红肿超过整个上臂、48小时后还在扩大，或者孩子发高烧、精神不好，"
            "请发照片给我们或来门诊看看。"
        ),
        avatar_flag=("vaccine_reaction", "Local reaction after vaccination"),
    ),
    Scenario(
        specialty=PAED,
        urgency="soon",
        language=ZH,
        kind="child",
        patient="孩子{age}岁，一个星期只拉了一次，很干很硬，拉的时候喊疼。能吃点什么药吗？",
        draft=(
            "儿童便秘很常见，调整一下饮食习惯一般会好转。多喝水，多吃梨、西梅、猕猴桃等水果和蔬菜，"
            "饭后让孩子坐马桶5分钟左右。乳果糖口服液每次5毫升，一天1次，儿童可以安全使用，能让大便变软。"
            "如果大便带血、呕吐、肚子胀，或者用药一周还没好转，请预约门诊。"
        ),
        avatar_flag=("medication_question", "Asks about laxatives for a child"),
    ),
    Scenario(
        specialty=PAED,
        urgency="routine",
        language=ZH,
        kind="infant",
        months=(1, 6),
        patient="宝宝有点流鼻涕，下周的疫苗还能按时打吗？",
        draft=(
            "没有发烧的轻微感冒不影响打疫苗，可以按时接种。接种本上写着下次要打哪几针，"
            "也可以问社区卫生服务中心。打完疫苗有的宝宝会哭闹或者有点低热，一两天就好，多抱抱、"
            "多喂奶就可以。只有宝宝明显不舒服、发高烧的时候才需要推迟。"
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="routine",
        language=ZH,
        kind="infant",
        months=(1, 6),
        patient="宝宝每次吃完奶都会吐一点出来，但体重长得挺好，也不哭闹，这正常吗？",
        draft=(
            "吃奶后吐一点奶（溢奶）在头几个月很常见，一般1岁左右会自己好。只要宝宝精神好、体重增长正常，"
            "就不需要治疗。喂完后竖抱20到30分钟，尿布不要绑太紧，可以少量多次喂。如果吐的是绿色的、"
            "喷射状的、带血，或者体重不长，请告诉我们。"
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="routine",
        language=ZH,
        kind="infant",
        months=(4, 11),
        patient="宝宝{months}个月了，什么时候开始加辅食？先吃什么好？",
        draft=(
            "6个月左右开始添加辅食比较合适，这时宝宝能在扶着的情况下坐稳，对食物感兴趣。"
            "先从富含铁的食物开始，比如强化铁的米粉、肉泥、豆腐，然后再加蔬菜和水果，"
            "每种新食物吃几天再换下一种。母乳或配方奶仍然是主要的饮品。1岁以内不要吃蜂蜜，也不要加盐和糖。"
        ),
        follow_up=("米粉用什么冲？", "用母乳、配方奶或者温开水冲都可以，一开始调得稀一点，宝宝适应后再慢慢调稠。"),
    ),
    Scenario(
        specialty=PAED,
        urgency="routine",
        language=ZH,
        kind="child",
        patient="孩子{age}岁，每天晚上都不肯睡觉，要折腾一个小时，有什么办法吗？",
        draft=(
            "这个年龄的孩子不肯睡觉很常见。最有效的是固定的睡前程序：每天同一时间上床，睡前一小时不看屏幕，"
            "然后洗澡、讲故事、关灯。程序要简短、可预期；孩子能待在床上就表扬，如果起来了，"
            "平静地把孩子送回床上。如果孩子打呼噜很响、夜里呼吸有停顿或者白天特别困，请预约门诊。"
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="routine",
        language=ZH,
        kind="child",
        patient="孩子{age}岁，只吃米饭和面条，蔬菜一口都不吃，要紧吗？",
        draft=(
            "挑食很常见，大多数孩子长大后会好转。在孩子喜欢的食物旁边继续放少量蔬菜，不要强迫，"
            "孩子可能要尝试10到15次才会接受一种新食物。全家一起吃饭，让孩子帮忙洗菜、挑菜，"
            "不要用糖果做奖励。如果孩子体重下降、总是很累，或者您担心孩子的生长发育，"
            "请带孩子来门诊看一下生长曲线。"
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="routine",
        language=ZH,
        kind="child",
        patient="孩子{age}岁，体重16公斤左右，感冒有点发烧，对乙酰氨基酚应该吃多少？",
        draft=(
            "16公斤的孩子，对乙酰氨基酚按每公斤15毫克计算，每次240毫克，需要时每4到6小时一次，"
            "24小时内不超过4次。用药盒里配的量器，并看清药的浓度：如果是每5毫升含120毫克的混悬液，"
            "240毫克就是10毫升。感冒发烧一般2到3天会退，超过5天或者孩子精神很差，请带来看。"
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="routine",
        language=ZH,
        kind="child",
        patient="孩子{age}岁，每年春天都打喷嚏、流鼻涕、鼻子痒，能吃抗过敏药吗？",
        draft=(
            "可以，季节性过敏可以用不容易犯困的抗组胺药。西替利嗪：2到6岁每次5毫克，一天1次；"
            "6岁以上每次10毫克，一天1次。用生理盐水喷鼻，从户外回来洗脸洗头，也有帮助。"
            "如果孩子还有喘或者夜里咳嗽，请预约门诊排查哮喘。"
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="routine",
        language=ZH,
        kind="infant",
        months=(1, 11),
        patient="宝宝大便干，老人说喝点蜂蜜水就好了，可以喂吗？",
        draft="可以给宝宝喝一点稀释的蜂蜜水，帮助软化大便，每天一次，一小勺蜂蜜兑温水就可以。",
        correction=(
            "unsafe_advice",
            (
                "1岁以内的宝宝不能吃任何形式的蜂蜜，蜂蜜里可能含有肉毒杆菌芽孢，会引起婴儿肉毒中毒，"
                "虽然少见但很严重。喝配方奶的宝宝便秘，可以在两次喂奶之间喝少量温开水；"
                "给宝宝做蹬自行车的动作和顺时针揉肚子也有帮助。6个月以上可以吃些梨泥、西梅泥。如果大便带血、"
                "肚子胀、呕吐，或者超过5天没有大便，请告诉我们。"
            ),
        ),
    ),
    Scenario(
        specialty=PAED,
        urgency="routine",
        language=ZH,
        kind="child",
        patient="我想找医生本人开个证明：孩子出水痘已经好了，学校要复课证明。有事可以打我电话 021-6123 4567。",
        draft=(
            "出水痘的孩子一般在所有疱疹都结痂后就可以复课，通常是出疹后5天左右。"
            "我已经把您的请求转给王医生的门诊，需要医生看过孩子后才能开证明，门诊会在App里联系您预约时间。"
        ),
    ),
    # ------------------------------------------------------------------ General practice, English
    Scenario(
        specialty=GP,
        urgency="emergency",
        language=EN,
        kind="adult",
        patient=(
            "I've had a crushing pain in my chest for the last 30 minutes. It goes into my left arm and "
            "jaw, and I'm sweating and feel sick."
        ),
        draft=(
            "Chest pain that spreads to the arm or jaw with sweating and nausea can be a heart attack. "
            "Call 120 now and don't drive yourself. If you are not allergic to aspirin, chew one 300 mg "
            "aspirin while you wait. Unlock the front door, sit down and rest, and stay on the line with "
            "the emergency operator."
        ),
        avatar_flag=("chest_pain", "Chest pain radiating to arm and jaw with sweating"),
        reply=(
            "This is Dr Liu. Please call 120 immediately if you haven't already; this needs an ambulance, "
            "not a taxi. Chew an aspirin if you are not allergic to it, and sit down. I'll stay on this "
            "chat; tell me when the ambulance has arrived."
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="emergency",
        language=EN,
        kind="adult",
        patient=(
            "Since about an hour ago the left side of my face is drooping and my family says I have "
            "slurred speech. My right hand feels weak and heavy. Could it just be tiredness?"
        ),
        draft=(
            "Tiredness and stress can sometimes cause facial twitching and heavy limbs. Try to rest, "
            "drink some water and see whether things improve over the next few hours. If not, book an "
            "appointment with your GP."
        ),
        correction=(
            "should_escalate",
            (
                "These are warning signs of a stroke: a drooping face, slurred speech and weakness in one arm "
                "that came on suddenly. Call 120 right now. Every minute counts, because clot-dissolving "
                "treatment works only in the first few hours. Note the time the symptoms started and tell the "
                "ambulance crew. Don't eat or drink anything in the meantime."
            ),
        ),
        reply=(
            "This is Dr Liu. Please ask your family to call 120 right now: a drooping face, slurred "
            "speech and a weak hand can be a stroke, and treatment works best in the first hours. Tell "
            "the crew the time it started. Don't eat or drink anything until you have been seen."
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="emergency",
        language=EN,
        kind="adult",
        patient=(
            "I can't cope any more. I keep thinking I want to end it all, and I've been saving up my sleeping pills."
        ),
        draft=(
            "I'm really sorry you're feeling this way, and I'm glad you told us. Your safety matters most "
            "right now. If you feel you might act on these thoughts, please call 120 or go to the nearest "
            "emergency department now, or ask someone you trust to stay with you. You can also call the "
            "psychological assistance hotline 12356 at any time, day or night. Please give the pills to "
            "someone else to keep. Dr Liu will contact you today."
        ),
        avatar_flag=("mental_health", "Suicidal thoughts with a plan"),
        reply=(
            "This is Dr Liu. Thank you for telling us; I'm taking this seriously and I want to help. Are "
            "you safe right now, and is anyone with you? If you think you might act on these thoughts, "
            "please call 120 or go to the emergency department now. I'd like to see you today; the clinic "
            "will message you with a time this afternoon."
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="urgent",
        language=EN,
        kind="adult",
        patient=(
            "For two days my stools have been black and sticky, and today I felt dizzy when I stood up. "
            "I've been taking ibuprofen for back pain for a couple of weeks."
        ),
        draft=(
            "Black, sticky stools can be a sign of bleeding in the stomach, and ibuprofen can cause "
            "stomach ulcers. With dizziness on standing, this needs to be checked today. Please stop the "
            "ibuprofen and go to the emergency department today for a blood test. Call 120 if you vomit "
            "blood or something like coffee grounds, faint, or feel your heart racing."
        ),
        avatar_flag=("urgent", "Black stools and dizziness on NSAIDs"),
        reply=(
            "This is Dr Liu. Please stop the ibuprofen and go to the emergency department today; I'd like "
            "them to check your blood count. Don't drive yourself if you feel dizzy. Call 120 if you "
            "vomit blood or faint."
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="urgent",
        language=EN,
        kind="adult",
        patient=(
            "It has burned when I pee for {days} days, and now I have a fever of 39, shivering, pain in "
            "my right side and back, and I vomited this morning."
        ),
        draft=(
            "This sounds like a urinary tract infection. Drink plenty of water; cranberry juice may also "
            "help. It should clear up in a few days."
        ),
        avatar_flag=("urgent", "Possible kidney infection"),
        correction=(
            "should_escalate",
            (
                "Burning when you pass urine together with fever, shivering, pain in the side or back and "
                "vomiting suggests the infection may have reached the kidney. This needs to be seen today: "
                "please go to the clinic or emergency department today for a urine test and antibiotics; "
                "because you are vomiting, you may need them through a drip at first. Keep sipping water, and "
                "go straight away if you feel faint, confused or very unwell."
            ),
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="urgent",
        language=EN,
        kind="adult",
        patient=(
            "My blood pressure at home was 190/115 this morning, checked three times. I have a headache. "
            "I take amlodipine."
        ),
        draft=(
            "A blood pressure of 190/115 with a headache needs to be checked by a doctor today. Please go "
            "to the clinic or emergency department today for a repeat measurement and tests, and bring "
            "your medicines. Don't take extra doses on your own. Call 120 straight away if chest pain, "
            "breathlessness, weakness or numbness on one side, trouble speaking or a change in vision "
            "develops."
        ),
        avatar_flag=("urgent", "Severely raised blood pressure with headache"),
    ),
    Scenario(
        specialty=GP,
        urgency="urgent",
        language=EN,
        kind="adult",
        patient=(
            "My right calf has been swollen, red and painful for {days} days and feels warmer than the "
            "other one. I flew back from Europe last week."
        ),
        draft=(
            "A swollen, painful, warm calf after a long flight can be a blood clot in the leg (deep vein "
            "thrombosis), which needs an ultrasound scan and possibly blood thinners. Please go to the "
            "clinic or emergency department today. Call 120 immediately if chest pain or breathlessness "
            "develops, as a clot can travel to the lungs."
        ),
        avatar_flag=("urgent", "Possible deep vein thrombosis"),
        reply=(
            "This is Dr Liu. I'd like you to have an ultrasound of the leg today. Please go to the "
            "emergency department this afternoon and show them this message. If you get chest pain or "
            "become breathless, call 120."
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="soon",
        language=EN,
        kind="adult",
        patient=(
            "My blood test shows TSH 8.2 and the report says 'high'. I feel tired all the time. What does that mean?"
        ),
        draft=(
            "A raised TSH can mean the thyroid gland is a little underactive, which can cause tiredness, "
            "feeling cold and weight gain. One result isn't enough to decide: we usually repeat the test "
            "together with free T4 in 6 to 8 weeks, or sooner if you feel unwell. Please book an "
            "appointment with Dr Liu to go through the results and your symptoms."
        ),
        avatar_flag=("abnormal_result", "Raised TSH"),
    ),
    Scenario(
        specialty=GP,
        urgency="soon",
        language=EN,
        kind="adult",
        patient=(
            "I've had a cough for about 4 weeks after a cold and it isn't going away. I smoke about 10 "
            "cigarettes a day."
        ),
        draft="Coughs after a cold can last several weeks. Honey and warm drinks help. Try to cut down on smoking.",
        avatar_flag=("needs_follow_up", "Cough for four weeks in a smoker"),
        correction=(
            "incomplete",
            (
                "A cough that lasts more than three weeks should be checked, especially in someone who "
                "smokes. Please book an appointment in the next week or two so we can examine you and arrange "
                "a chest X-ray. Come sooner if you cough up blood, lose weight without trying, have night "
                "sweats, or become breathless. Stopping smoking is the single best thing for your lungs, and "
                "we can help with that at the same visit."
            ),
        ),
        reply=(
            "This is Dr Liu. I'd like to see you next week and arrange a chest X-ray; the clinic will "
            "message you a time. If you cough up any blood before then, please come in sooner."
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="soon",
        language=EN,
        kind="adult",
        patient=(
            "My fasting sugar was 7.4 at my work health check. My dad has diabetes. Does this mean I'm diabetic too?"
        ),
        draft=(
            "A fasting glucose of 7.0 mmol/L or more is in the diabetes range, but the diagnosis needs a "
            "second test, usually a repeat fasting glucose or an HbA1c. Please book an appointment with "
            "Dr Liu in the next week or two to arrange it. Meanwhile, cutting down on sugary drinks, "
            "sweets and refined carbohydrates, and walking briskly for 30 minutes most days, will help "
            "whatever the result."
        ),
        avatar_flag=("abnormal_result", "Raised fasting glucose"),
    ),
    Scenario(
        specialty=GP,
        urgency="soon",
        language=EN,
        kind="adult",
        patient="I started metformin last week and I've had diarrhoea and an upset stomach since. Should I stop it?",
        draft=(
            "Stomach upset and loose stools are common when starting metformin and usually settle within "
            "a few weeks. Take it with or right after meals. If it stays troublesome, we can lower the "
            "dose to 500 mg once a day for a week or two and increase slowly, or switch to the "
            "slow-release form, so please don't stop it without talking to us. Contact us sooner if there "
            "is vomiting, you can't keep fluids down, or you feel very unwell."
        ),
        follow_up=(
            "I take 500 mg twice a day now. Should I just skip the morning one?",
            (
                "Yes, for now take only the evening tablet with your meal, and we will review it at your "
                "appointment. Please keep checking your blood sugar as usual."
            ),
        ),
        avatar_flag=("medication_question", "Side effects of metformin"),
    ),
    Scenario(
        specialty=GP,
        urgency="routine",
        language=EN,
        kind="adult",
        patient="I've had a sore throat, runny nose and a mild cough for {days} days. Do I need antibiotics?",
        draft=(
            "These symptoms sound like a common cold, which is caused by a virus, so antibiotics won't "
            "help and can cause side effects. Rest, drink plenty of fluids, and try honey in warm water "
            "or lozenges for the sore throat. Most colds get better within 7 to 10 days. Please contact "
            "us if a high fever, ear pain or breathing trouble develops, or the symptoms last more than 3 "
            "weeks."
        ),
        follow_up=(
            "Can I still go to work?",
            (
                "Yes, if you feel well enough. Wash your hands often, cough into a tissue or your elbow, and "
                "consider a mask around people who are vulnerable."
            ),
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="routine",
        language=EN,
        kind="adult",
        patient=(
            "I hurt my lower back lifting a box {days} days ago. It's sore when I bend, but there's no "
            "numbness in my legs."
        ),
        draft=(
            "Most lower back strains get better within a few weeks. Stay as active as you can, since "
            "gentle walking is better than bed rest, and use a heat pad for comfort. Simple painkillers "
            "from the pharmacy can help in the first days. Get checked straight away if there is numbness "
            "around the bottom or genitals, trouble passing urine, or weakness in the legs."
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="routine",
        language=EN,
        kind="adult",
        patient="Should I get the flu vaccine this year? I'm healthy but I work in a school.",
        draft=(
            "Yes, the flu vaccine is recommended every year, especially for people who work with "
            "children. The best time is autumn, before the flu season starts. It can't give you flu; some "
            "people have a sore arm or feel a little achy for a day or two. You can get it at your "
            "community health centre or at our clinic."
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="routine",
        language=EN,
        kind="adult",
        patient="I've had trouble sleeping for a few weeks because of stress at work. Any advice?",
        draft=(
            "Short-term sleep problems at stressful times are very common. It helps to keep regular sleep "
            "and wake times, avoid caffeine after midday and alcohol in the evening, keep screens out of "
            "the bedroom, and get daylight and some exercise during the day. If you can't sleep after 20 "
            "minutes, get up and do something calm until you feel sleepy. If it carries on for more than "
            "a month, or you feel low or anxious most days, please book an appointment."
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="routine",
        language=EN,
        kind="adult",
        patient="My cholesterol came back a little high at my health check (LDL 3.6). How can I lower it with diet?",
        draft=(
            "A slightly raised LDL cholesterol can often be lowered with lifestyle changes. Cut down on "
            "fatty meat, butter, fried food and pastries; cook with vegetable oils; eat more oats, beans, "
            "vegetables, fruit and fish; and aim for 150 minutes of brisk activity a week. We usually "
            "recheck in about three months and look at your overall heart risk before deciding whether "
            "medicine is needed."
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="routine",
        language=EN,
        kind="adult",
        patient="Can I take ibuprofen for a headache? I'm on blood pressure tablets.",
        draft=(
            "For an occasional headache, paracetamol 1 g up to four times a day is the better choice for "
            "you. Ibuprofen and similar painkillers can raise blood pressure and affect the kidneys, "
            "especially together with some blood pressure medicines, so it's best to avoid regular use. "
            "If headaches are frequent, please book a review of your blood pressure."
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="routine",
        language=EN,
        kind="adult",
        patient="My hay fever is really bad this spring: itchy eyes and constant sneezing. What can I take?",
        draft=(
            "Loratadine 10 mg once a day or cetirizine 10 mg once a day are non-drowsy antihistamines "
            "that work well for hay fever. A steroid nasal spray used every day through the season helps "
            "a blocked nose, and antihistamine eye drops help itchy eyes. Showering and changing clothes "
            "after being outdoors reduces pollen exposure."
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="routine",
        language=EN,
        kind="adult",
        patient="Is it okay to take the leftover antibiotics from last time for my sore throat?",
        draft=(
            "Yes, if the antibiotics worked for you last time, you can take the leftover tablets for a "
            "few days until the sore throat improves."
        ),
        correction=(
            "unsafe_advice",
            (
                "Please don't take leftover antibiotics. Most sore throats are caused by viruses and get "
                "better on their own in about a week, so antibiotics won't help, and a short, incomplete "
                "course can cause side effects and resistance. Rest, fluids, honey, lozenges and paracetamol "
                "if needed will ease the pain. Contact us if you have a high fever, white patches on the "
                "tonsils with swollen glands, trouble swallowing, or no improvement after a week. Please take "
                "leftover antibiotics back to a pharmacy."
            ),
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="routine",
        language=EN,
        kind="adult",
        patient=(
            "I'd rather talk to a real doctor about my test results, not the AI. Can Dr Liu call me on 139 1234 5678?"
        ),
        draft=(
            "Of course. I've passed your request to Dr Liu's clinic, and the team will contact you "
            "through the app to arrange a time to talk. For your privacy, please don't share phone "
            "numbers or other personal details in this chat; the clinic already has your contact "
            "information."
        ),
    ),
    # ------------------------------------------------------------------ General practice, Chinese
    Scenario(
        specialty=GP,
        urgency="emergency",
        language=ZH,
        kind="adult",
        patient="胸口压着痛已经半个多小时了，痛到左边胳膊和下巴，一直出冷汗，想吐。",
        draft=(
            "胸痛放射到胳膊或下巴，伴出汗、恶心，可能是心肌梗死。请现在拨打120，不要自己开车去医院。"
            "如果对阿司匹林不过敏，等救护车时嚼服一片300毫克阿司匹林。把门打开，坐下休息，"
            "保持和120接线员通话。"
        ),
        avatar_flag=("chest_pain", "Chest pain radiating to arm and jaw with sweating"),
        reply=(
            "我是刘医生。如果还没打120，请马上打，需要救护车，不要打车去。对阿司匹林不过敏的话嚼一片，"
            "然后坐下别动。我在这里等着，救护车到了告诉我一声。"
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="emergency",
        language=ZH,
        kind="adult",
        patient="一个小时前开始，我嘴巴歪了，家里人说我说话不清楚，右手没力气，拿不住筷子。是不是太累了？",
        draft="可能是最近太累、压力大引起的，先好好休息，多喝水，观察几个小时，如果没有好转再到门诊看看。",
        correction=(
            "should_escalate",
            (
                "突然出现嘴歪、说话不清、一侧手没力气，是脑卒中（中风）的危险信号，请立即拨打120。"
                "时间就是大脑，溶栓治疗只在发病后几个小时内有效。记下症状开始的时间，告诉急救人员。"
                "在此之前不要吃东西、喝水。"
            ),
        ),
        reply=(
            "我是刘医生。请让家里人马上打120：嘴歪、说话不清、手没力气可能是中风，越早治疗效果越好。"
            "告诉急救人员症状是几点开始的。看医生之前不要吃东西喝水。"
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="emergency",
        language=ZH,
        kind="adult",
        patient="我真的撑不下去了，最近一直想自杀，已经攒了一些安眠药。",
        draft=(
            "很难过听到您这么痛苦，谢谢您愿意告诉我们。现在最重要的是您的安全。如果觉得自己可能会去做，"
            "请马上拨打120或去最近的医院急诊，或者请一个信任的人来陪着您。也可以随时拨打心理援助热线12356，"
            "24小时都有人接听。请把安眠药交给家人保管。刘医生今天会联系您。"
        ),
        avatar_flag=("mental_health", "Suicidal thoughts with a plan"),
        reply=(
            "我是刘医生。谢谢您告诉我们，我很重视，也想帮助您。"
            "您现在安全吗？身边有人吗？如果觉得自己可能会去做，请马上打120或者去急诊。我想今天见您一面，"
            "门诊下午会在App里告诉您时间。"
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="urgent",
        language=ZH,
        kind="adult",
        patient="这两天大便是黑色的，像柏油一样，今天站起来的时候头晕。最近腰痛，一直在吃布洛芬。",
        draft=(
            "柏油样黑便可能是胃里出血，布洛芬有可能引起胃溃疡。加上站起来头晕，需要今天检查。"
            "请先停用布洛芬，今天去急诊查血常规。如果吐血或者吐出咖啡渣样的东西、晕倒、心慌，请拨打120。"
        ),
        avatar_flag=("urgent", "Black stools and dizziness on NSAIDs"),
        reply="我是刘医生。请先停掉布洛芬，今天去急诊查一下血常规。头晕的话不要自己开车。如果吐血或者晕倒，请打120。",
    ),
    Scenario(
        specialty=GP,
        urgency="urgent",
        language=ZH,
        kind="adult",
        patient="小便烧灼痛{days}天了，今天发烧39度，发冷打寒战，右边腰疼，早上吐了一次。",
        draft="这像是尿路感染，多喝水，喝点蔓越莓汁也有帮助，过几天就会好。",
        avatar_flag=("urgent", "Possible kidney infection"),
        correction=(
            "should_escalate",
            (
                "小便烧灼痛，同时发烧、寒战、一侧腰痛和呕吐，提示感染可能已经到了肾脏（肾盂肾炎），"
                "需要今天就诊。请今天到门诊或急诊查尿常规，并使用抗生素；因为在呕吐，可能需要先静脉用药。"
                "平时小口多喝水。如果感到要晕倒、意识不清或者非常难受，请立即去急诊。"
            ),
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="urgent",
        language=ZH,
        kind="adult",
        patient="今天早上在家量血压190/115，量了三次都差不多，头有点痛。我在吃氨氯地平。",
        draft=(
            "血压190/115伴头痛，需要今天让医生看一下。请今天到门诊或急诊复测血压并做检查，带上正在吃的药。"
            "不要自己加量吃药。如果出现胸痛、气短、一侧肢体无力或麻木、说话困难或视力变化，请马上拨打120。"
        ),
        avatar_flag=("urgent", "Severely raised blood pressure with headache"),
    ),
    Scenario(
        specialty=GP,
        urgency="urgent",
        language=ZH,
        kind="adult",
        patient="右小腿肿了{days}天，又红又痛，摸着比左边热。上周刚坐长途飞机回来。",
        draft=(
            "长途飞行后小腿肿、痛、发热，可能是下肢深静脉血栓，需要做B超，可能还要用抗凝药。"
            "请今天到门诊或急诊检查。如果出现胸痛或气促，请立即拨打120，因为血栓可能脱落到肺部。"
        ),
        avatar_flag=("urgent", "Possible deep vein thrombosis"),
        reply=(
            "我是刘医生。需要您今天做一个下肢血管B超。请今天下午去急诊，把这条消息给他们看。"
            "如果出现胸痛或气促，请打120。"
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="soon",
        language=ZH,
        kind="adult",
        patient="体检报告说促甲状腺激素TSH 8.2，偏高，我总觉得很累，这是什么意思？",
        draft=(
            "TSH偏高可能说明甲状腺功能有点减退，会引起乏力、怕冷、体重增加。一次结果还不能下结论，"
            "一般6到8周后复查TSH和游离T4，如果感觉不舒服可以提前。请预约刘医生的门诊，"
            "一起看看化验结果和您的症状。"
        ),
        avatar_flag=("abnormal_result", "Raised TSH"),
    ),
    Scenario(
        specialty=GP,
        urgency="soon",
        language=ZH,
        kind="adult",
        patient="感冒后咳嗽快一个月了，一直不好。我每天抽半包烟。",
        draft="感冒后咳嗽可能会持续几周，可以喝点蜂蜜水、温水，尽量少抽烟。",
        avatar_flag=("needs_follow_up", "Cough for four weeks in a smoker"),
        correction=(
            "incomplete",
            (
                "咳嗽超过三周需要检查，吸烟的人更要重视。请在一两周内预约门诊，我们给您检查并安排胸片。"
                "如果咳血、体重无故下降、夜间出汗或者气促，请尽早来看。戒烟是对肺最有帮助的事，"
                "门诊时我们也可以帮您制定戒烟计划。"
            ),
        ),
        reply="我是刘医生。想请您下周来门诊，顺便拍个胸片，门诊会在App里告诉您时间。在这之前如果咳血，请提前来看。",
    ),
    Scenario(
        specialty=GP,
        urgency="soon",
        language=ZH,
        kind="adult",
        patient="单位体检空腹血糖7.4，我爸爸有糖尿病，我是不是也有糖尿病了？",
        draft=(
            "空腹血糖≥7.0 mmol/L属于糖尿病范围，但确诊需要再查一次，一般复查空腹血糖或者糖化血红蛋白。"
            "请在一两周内预约刘医生的门诊安排复查。在此期间少喝含糖饮料，少吃甜食和精米白面，"
            "大多数日子快走30分钟，不管结果如何都有好处。"
        ),
        avatar_flag=("abnormal_result", "Raised fasting glucose"),
    ),
    Scenario(
        specialty=GP,
        urgency="soon",
        language=ZH,
        kind="adult",
        patient="上周开始吃二甲双胍，拉肚子、胃不舒服，要不要停药？",
        draft=(
            "刚开始吃二甲双胍时胃不舒服、大便稀很常见，一般几周内会好转。要随餐或饭后马上吃。"
            "如果一直很难受，可以先减到每次500毫克，一天1次，吃一两周再慢慢加量，或者换成缓释片，"
            "所以请不要自己停药。如果呕吐、喝不进水或者非常不舒服，请尽早联系我们。"
        ),
        avatar_flag=("medication_question", "Side effects of metformin"),
    ),
    Scenario(
        specialty=GP,
        urgency="routine",
        language=ZH,
        kind="adult",
        patient="喉咙痛、流鼻涕、有点咳嗽{days}天了，需要吃抗生素吗？",
        draft=(
            "这些症状像普通感冒，大多是病毒引起的，抗生素没有效果，还可能带来副作用。多休息、多喝水，"
            "喉咙痛可以喝温蜂蜜水或者含润喉片。普通感冒一般7到10天会好。如果出现高烧、耳朵痛、呼吸费力，"
            "或者症状超过3周，请联系我们。"
        ),
        follow_up=(
            "那还能去上班吗？",
            "感觉还可以的话可以上班。勤洗手，咳嗽时用纸巾或手肘捂住，和老人、孕妇接触时戴口罩。",
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="routine",
        language=ZH,
        kind="adult",
        patient="{days}天前搬箱子扭到腰了，弯腰的时候疼，腿不麻。",
        draft=(
            "大多数腰部扭伤几周内会好转。尽量保持活动，慢慢散步比卧床休息好，可以用热敷缓解。"
            "头几天可以用药店买的普通止痛药。如果出现会阴部麻木、大小便困难或者腿没力气，请马上就医。"
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="routine",
        language=ZH,
        kind="adult",
        patient="今年需要打流感疫苗吗？我身体挺好的，在学校上班。",
        draft=(
            "需要，建议每年都打流感疫苗，和孩子接触多的人更应该打。最好在秋天、流感季节开始前接种。"
            "流感疫苗不会让人得流感，有的人会有一两天胳膊疼或者有点乏力。"
            "可以在社区卫生服务中心或者我们医院接种。"
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="routine",
        language=ZH,
        kind="adult",
        patient="工作压力大，最近几周晚上总睡不着，有什么办法吗？",
        draft=(
            "压力大的时候短期睡不好很常见。建议固定上床和起床时间，中午以后不喝咖啡、晚上不喝酒，"
            "卧室里不看手机，白天多晒太阳、适当运动。躺下20分钟还睡不着，就起来做点安静的事，"
            "有困意再回床上。如果持续超过一个月，或者大部分时间情绪低落、焦虑，请预约门诊。"
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="routine",
        language=ZH,
        kind="adult",
        patient="体检说低密度脂蛋白3.6，有点高，饮食上怎么调整？",
        draft=(
            "低密度脂蛋白轻度升高，很多时候通过改变生活方式就能降下来。少吃肥肉、黄油、油炸食品和糕点，"
            "用植物油烹饪，多吃燕麦、豆类、蔬菜、水果和鱼，每周快走等运动累计150分钟左右。"
            "一般三个月后复查，再结合整体心血管风险决定是否需要吃药。"
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="routine",
        language=ZH,
        kind="adult",
        patient="头痛能吃布洛芬吗？我在吃降压药。",
        draft=(
            "偶尔头痛建议首选对乙酰氨基酚，每次1克，一天不超过4次。布洛芬这类止痛药会升高血压、影响肾脏，"
            "和某些降压药一起用时更明显，最好不要经常吃。如果经常头痛，请预约门诊复查一下血压。"
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="routine",
        language=ZH,
        kind="adult",
        patient="今年春天花粉过敏特别厉害，眼睛痒、一直打喷嚏，吃什么药好？",
        draft=(
            "氯雷他定每次10毫克，一天1次，或者西替利嗪每次10毫克，一天1次，都是不容易犯困的抗过敏药，"
            "对花粉过敏效果不错。花粉季节每天用激素鼻喷剂可以缓解鼻塞，抗过敏眼药水可以缓解眼痒。"
            "从户外回来后洗澡、换衣服，可以减少花粉接触。"
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="routine",
        language=ZH,
        kind="adult",
        patient="上次看病剩了一些抗生素，这次嗓子疼可以拿来吃吗？",
        draft="可以的，如果上次的抗生素对您有效，这次嗓子痛可以把剩下的吃几天，好转了就停。",
        correction=(
            "unsafe_advice",
            (
                "请不要吃上次剩下的抗生素。大多数嗓子痛是病毒引起的，一周左右会自己好，抗生素没有用；"
                "而且疗程不完整还会带来副作用和耐药。多休息、多喝水，可以喝蜂蜜水、含润喉片，"
                "需要时吃对乙酰氨基酚止痛。如果高烧、扁桃体上有白点并且淋巴结肿大、吞咽困难，"
                "或者一周后还没好转，请联系我们。剩下的抗生素请交回药店处理。"
            ),
        ),
    ),
    Scenario(
        specialty=GP,
        urgency="routine",
        language=ZH,
        kind="adult",
        patient="我想跟医生本人聊一下化验结果，不要机器人回复。可以让刘医生打我手机13912345678吗？",
        draft=(
            "好的，已经把您的请求转给刘医生的门诊，工作人员会通过App联系您约时间。为了保护您的隐私，"
            "请不要在聊天里发送手机号等个人信息，门诊已经有您的联系方式。"
        ),
    ),
)
